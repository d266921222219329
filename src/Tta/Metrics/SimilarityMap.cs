using static TorchSharp.torch;

namespace Tta.Metrics;

/// <summary>
/// Token×token similarity of one layer's vectors (the paper's similarity maps): dot products XXᵀ and cosine
/// similarities of the L2-normalised rows. Computed in float64 on CPU so the maps do not depend on summation order.
/// </summary>
public static class SimilarityMap
{
    public static readonly IReadOnlyList<string> Measures = ["cosine", "dot"];

    /// <summary><paramref name="vectors"/> is row-major [rows, dim]; returns row-major [rows, rows].</summary>
    public static float[] Compute(ReadOnlyMemory<float> vectors, int rows, int dim, string measure)
    {
        using var scope = NewDisposeScope();
        var x = tensor(vectors.ToArray(), [rows, dim]).to(ScalarType.Float64);
        if (measure == "cosine")
        {
            var norms = x.norm(1, keepdim: true).clamp_min(1e-12);
            x = x / norms;
        }
        else if (measure != "dot") throw new ArgumentException($"unknown similarity measure '{measure}' (cosine, dot)");
        return x.matmul(x.t()).to(ScalarType.Float32).contiguous().data<float>().ToArray();
    }
}
