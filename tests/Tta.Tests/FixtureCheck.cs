using System.Text;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests;

/// <summary>
/// Runs a reference fixture (../shared/fixtures/models/NAME) through the loader users use and compares every tensor
/// we capture against transformers' output of the same name.
/// </summary>
public static class FixtureCheck
{
    public static string ModelDir(string name) => Repo.Shared($"fixtures/models/{name}");

    /// <summary>Returns the number of tensors compared; fails listing every tensor over <paramref name="tolerance"/>.</summary>
    public static int CompareAll(string name, double tolerance = 1e-4, ScalarType dtype = ScalarType.Float32,
        Func<string, bool>? include = null, int minimumCompared = 1)
    {
        var dir = ModelDir(name);
        using var scope = NewDisposeScope();
        using var expected = new SafetensorsFile(Path.Combine(dir, "expected.safetensors"));
        using var model = ModelFactory.Load(dir, dtype);
        var inputs = ForwardRunner.ReadInputs(Path.Combine(dir, "case.json"));
        using var capture = ActivationCapture.All();
        model.Run(inputs, capture);
        var failures = new StringBuilder();
        var compared = 0;
        var masks = PaddingMasks(inputs);
        foreach (var (fixtureName, actual) in SoftmaxRepeats(ForwardRunner.FixtureNames(capture.Items).ToList(), expected))
        {
            if (include is not null && !include(fixtureName)) continue;
            if (!expected.Contains(fixtureName)) continue;
            using var want = expected.Load(fixtureName);
            if (!want.shape.SequenceEqual(actual.shape))
            {
                failures.AppendLine($"{fixtureName}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", want.shape)}]");
                continue;
            }
            var err = MaxAbsError(actual, want, masks);
            compared++;
            if (!(err <= tolerance)) failures.AppendLine($"{fixtureName}: max abs error {err:g3} > {tolerance:g3}");
        }
        Assert.True(failures.Length == 0, $"{name}: {failures}");
        Assert.True(compared >= minimumCompared, $"{name}: compared only {compared} tensors");
        return compared;
    }

    /// <summary>
    /// The reference fixtures hold every softmax call more than once in a row (softmax_call.0 and .1 are both layer 0's,
    /// the hook fired for two wrappers of one call). When the fixture has r times as many calls as we record, our call
    /// k is compared with each of the fixture's calls r·k … r·k+r−1.
    /// </summary>
    private static IEnumerable<KeyValuePair<string, Tensor>> SoftmaxRepeats(
        IReadOnlyList<KeyValuePair<string, Tensor>> named, SafetensorsFile expected)
    {
        const string prefix = "module:softmax_call.";
        static bool IsProbs(string n) => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".probs", StringComparison.Ordinal);
        var ours = named.Count(kv => IsProbs(kv.Key));
        var theirs = expected.Entries.Keys.Count(IsProbs);
        var repeat = ours > 0 && theirs > ours && theirs % ours == 0 ? theirs / ours : 1;
        foreach (var kv in named)
        {
            if (repeat == 1 || !kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return kv;
                continue;
            }
            var rest = kv.Key[prefix.Length..];
            var dot = rest.IndexOf('.');
            var call = int.Parse(rest[..dot], System.Globalization.CultureInfo.InvariantCulture);
            for (var j = 0; j < repeat; j++)
                yield return new($"{prefix}{call * repeat + j}{rest[dot..]}", kv.Value);
        }
    }

    /// <summary>
    /// Padded positions hold "whatever the reference computed" (fixtures README), so rows of padded tokens are left
    /// out: for [batch, seq, …] tensors whose seq matches a mask we compare real tokens only.
    /// </summary>
    private static double MaxAbsError(Tensor actual, Tensor want, IReadOnlyList<Tensor> masks)
    {
        using var diff = (actual.to(ScalarType.Float32) - want).abs();
        foreach (var mask in masks)
        {
            if (diff.dim() >= 2 && diff.shape[0] == mask.shape[0] && diff.shape[1] == mask.shape[1])
            {
                var shape = new long[diff.dim()];
                Array.Fill(shape, 1L);
                shape[0] = mask.shape[0];
                shape[1] = mask.shape[1];
                using var m = mask.reshape(shape).to(ScalarType.Float32);
                return (diff * m).max().item<float>();
            }
        }
        return diff.max().item<float>();
    }

    private static IReadOnlyList<Tensor> PaddingMasks(ModelInputs inputs)
    {
        var list = new List<Tensor> { inputs.AttentionMask };
        if (inputs.DecoderAttentionMask is { } d) list.Add(d);
        return list;
    }
}
