using System.Text;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests;

/// <summary>
/// Runs a reference fixture (tests/fixtures/models/NAME) through the loader users use and compares every tensor
/// we capture against transformers' output of the same name.
/// </summary>
public static partial class FixtureCheck
{
    public static string ModelDir(string name) => Repo.Fixture($"models/{name}");

    /// <summary>Every model fixture, one per architecture and variant (what the tests over all of them run on).</summary>
    public static IReadOnlyList<string> Models { get; } =
        ["bert-tiny", "t5-v1_0-tiny", "flan-t5-tiny", "falcon-7b-tiny", "falcon-40b-tiny", "gpt2-tiny", "llama-tiny"];

    /// <summary>transformers' tensors for a fixture's case: expected.safetensors in <paramref name="dir"/>.</summary>
    public static SafetensorsFile Expected(string dir) => new(Path.Combine(dir, "expected.safetensors"));

    /// <summary>Runs <paramref name="model"/> on the fixture's case.json in <paramref name="dir"/>, capturing into <paramref name="capture"/>; returns the case's inputs.</summary>
    public static ModelInputs RunCase(ITransformerModel model, string dir, ActivationCapture capture)
    {
        var inputs = ForwardRunner.ReadInputs(Path.Combine(dir, "case.json"));
        model.Run(inputs, capture);
        return inputs;
    }

    /// <summary>Returns the number of tensors compared; fails listing every tensor over <paramref name="tolerance"/>.</summary>
    /// <param name="configure">adjusts the loaded model before the run (e.g. a reference-compatibility switch).</param>
    /// <param name="onCompared">receives each compared fixture name and its max abs error.</param>
    /// <param name="requireAll">also fails listing every fixture tensor (inputs and names <paramref name="include"/>
    /// leaves out aside) that no captured tensor was compared with.</param>
    public static int CompareAll(string name, double tolerance = 1e-4, ScalarType dtype = ScalarType.Float32,
        Func<string, bool>? include = null, int minimumCompared = 1, Action<ITransformerModel>? configure = null,
        Action<string, double>? onCompared = null, bool requireAll = false)
    {
        var dir = ModelDir(name);
        using var scope = NewDisposeScope();
        using var expected = Expected(dir);
        using var model = ModelFactory.Load(dir, dtype);
        configure?.Invoke(model);
        using var capture = ActivationCapture.All();
        var inputs = RunCase(model, dir, capture);
        var failures = new StringBuilder();
        var compared = new HashSet<string>(StringComparer.Ordinal);
        var masks = PaddingMasks(inputs);
        // ForwardRunner names softmax calls as the fixtures' recorder did (each call twice), so names map one to one.
        foreach (var (fixtureName, actual) in ForwardRunner.FixtureNames(capture.Captured))
        {
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
                compared.Add(fixtureName);
                onCompared?.Invoke(fixtureName, err);
                if (!(err <= tolerance)) failures.AppendLine($"{fixtureName}: max abs error {err:g3} > {tolerance:g3}");
            }
        }
        if (requireAll)
            foreach (var missed in expected.Entries.Keys.Where(k => !k.StartsWith("input:", StringComparison.Ordinal)
                         && (include is null || include(k)) && !compared.Contains(k)).Order(StringComparer.Ordinal))
                failures.AppendLine($"{missed}: in the fixture, not captured");
        Assert.True(failures.Length == 0, $"{name}: {failures}");
        Assert.True(compared.Count >= minimumCompared, $"{name}: compared only {compared.Count} tensors");
        return compared.Count;
    }

    /// <summary>
    /// Padded positions hold "whatever the reference computed" (fixtures README), so rows of padded tokens are left
    /// out: for [batch, seq, …] tensors whose seq matches a mask we compare real tokens only; for 4-D attention
    /// tensors [batch, heads, query, key] the padded rows are the queries (dim 2).
    /// </summary>
    internal static double MaxAbsError(Tensor actual, Tensor want, IReadOnlyList<Tensor> masks)
    {
        using var diff = (actual.to(ScalarType.Float32) - want).abs();
        var seqDim = diff.dim() == 4 ? 2 : 1;
        foreach (var mask in masks)
        {
            if (diff.dim() >= 2 && diff.shape[0] == mask.shape[0] && diff.shape[seqDim] == mask.shape[1])
            {
                var shape = new long[diff.dim()];
                Array.Fill(shape, 1L);
                shape[0] = mask.shape[0];
                shape[seqDim] = mask.shape[1];
                using var m = mask.reshape(shape).ne(0);
                return where(m, diff, zeros(1, ScalarType.Float32)).max().item<float>();
            }
        }
        return diff.max().item<float>();
    }

    internal static IReadOnlyList<Tensor> PaddingMasks(ModelInputs inputs)
    {
        var list = new List<Tensor> { inputs.AttentionMask };
        if (inputs.DecoderAttentionMask is { } d) list.Add(d);
        return list;
    }
}
