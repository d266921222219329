using System.Runtime.InteropServices;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Similarity;

/// <summary>
/// Token×token similarity of one layer's vectors (the paper's similarity maps): dot products XXᵀ and cosine
/// similarities of the L2-normalised rows, in float32 like the activations they come from (float32 accumulation over
/// a few thousand dimensions is accurate to ~1e-6 relative, far below what a figure shows).
/// Both measures come from one Gram matrix G = XXᵀ: dot = G, cosine = G_ij / (‖x_i‖‖x_j‖) with ‖x_i‖ = √G_ii
/// (clamped to ≥ 1e−12), so the only pass over [rows, dim] is one matmul.
/// </summary>
public static class SimilarityMap
{
    public static readonly IReadOnlyList<string> Measures = ["cosine", "dot"];

    /// <summary><paramref name="vectors"/> is row-major [rows, dim]; returns row-major [rows, rows].</summary>
    public static float[] Compute(ReadOnlyMemory<float> vectors, int rows, int dim, string measure) =>
        ComputeAll(vectors, rows, dim, [measure])[0];

    /// <summary>The maps of several measures of one vector set, in the order of <paramref name="measures"/>.</summary>
    public static float[][] ComputeAll(ReadOnlyMemory<float> vectors, int rows, int dim, IReadOnlyList<string> measures)
    {
        foreach (var m in measures)
            if (!Measures.Contains(m)) throw new ArgumentException($"unknown similarity measure '{m}' ({string.Join(", ", Measures)})");
        if (vectors.Length != (long)rows * dim) throw new ArgumentException($"{vectors.Length} values for {rows}x{dim}");
        using var scope = NewDisposeScope();
        var x = Models.NativeTensor.FromFloats(vectors.Span, [rows, dim]);
        var gram = x.matmul(x.t());
        return measures.Select(m =>
        {
            var map = gram;
            if (m == "cosine")
            {
                var norms = gram.diagonal().ClampMin(0.0).sqrt().ClampMin(1e-12);
                map = gram / norms.unsqueeze(1) / norms.unsqueeze(0);
            }
            return Models.NativeTensor.ToFloatArray(map);
        }).ToArray();
    }
}
