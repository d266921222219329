using Tta.Extract;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Projection;

/// <summary>
/// The 2-D principal-component projection of one hidden-state series (every stored layer of one stack), fitted on all
/// of its layers' vectors together, so one token's points at successive layers form its trajectory in one plane.
/// <see cref="Components"/> is [2, dim] (rows = first and second component), <see cref="Mean"/> [dim].
/// </summary>
public sealed record ProjectionFit(string Series, string Stack, int Rows, int Dim, double[] Mean, double[] Components,
    double[] ExplainedVarianceRatio)
{
    /// <summary>Coordinates [positions, 2] of one layer's vectors (row-major [positions, Dim]).</summary>
    public float[] Project(ReadOnlySpan<float> values, int positions)
    {
        var result = new float[positions * 2];
        for (var t = 0; t < positions; t++)
        {
            var row = values.Slice(t * Dim, Dim);
            for (var c = 0; c < 2; c++)
            {
                double sum = 0;
                for (var d = 0; d < Dim; d++) sum += (row[d] - Mean[d]) * Components[c * Dim + d];
                result[t * 2 + c] = (float)sum;
            }
        }
        return result;
    }
}
