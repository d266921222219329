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
        foreach (var (fixtureName, actual) in ForwardRunner.FixtureNames(capture.Items))
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
