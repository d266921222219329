using Tta.Models;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Metrics.Trajectory;

/// <summary>
/// Per-token metrics of a trajectory h_0 … h_{L−1} (one token's hidden state at each stored layer, in layer order):
/// <list type="bullet">
/// <item><c>step_length</c> [L−1]: ‖h_{i+1} − h_i‖.</item>
/// <item><c>cosine_next</c> [L−1]: cos(h_i, h_{i+1}).</item>
/// <item><c>cosine_final</c> [L]: cos(h_i, h_{L−1}).</item>
/// <item><c>curvature</c> [L−2]: the angle in radians between successive steps s_i = h_{i+1} − h_i and s_{i+1}
/// (0 = straight on, π = reversal).</item>
/// </list>
/// Cosines use norms clamped to ≥ 1e−12 (a zero vector has cosine 0 with everything, so angle π/2). Computed in
/// float64, one layer pair at a time, so memory is a few [T, D] tensors whatever the number of layers.
/// </summary>
public static class TrajectoryMetrics
{
    public static readonly IReadOnlyList<string> Measures = ["step_length", "cosine_next", "cosine_final", "curvature"];

    /// <summary>
    /// Trajectories in a store: its hidden-state blocks (<paramref name="points"/> says which), grouped by series
    /// (<c>hidden_states</c>, <c>encoder_hidden_states</c>, <c>decoder_hidden_states</c>: the point's path), each
    /// ordered by layer.
    /// </summary>
    public static IReadOnlyList<(string Point, string Stack, IReadOnlyList<VectorBlock> Layers)> Trajectories(IEnumerable<VectorBlock> blocks,
        StoredPoints points) =>
        blocks.Select(b => (Block: b, Series: points.HiddenStateSeries(b.Key)))
            .Where(s => s.Series is not null)
            .GroupBy(s => s.Series!, s => s.Block)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.First().Key.Stack, (IReadOnlyList<VectorBlock>)g.OrderBy(b => b.Key.Layer).ToList()))
            .ToList();

    /// <summary>Every measure for the tokens of one trajectory: measure → row-major [positions, length].</summary>
    public static IReadOnlyDictionary<string, (float[] Values, int Length)> Compute(IReadOnlyList<VectorBlock> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("no layers");
        var (t, d) = (layers[0].Positions, layers[0].Dim);
        if (layers.Any(b => b.Positions != t || b.Dim != d))
            throw new InvalidDataException($"{layers[0].Key.Point}: layers differ in shape");
        var count = layers.Count;
        using var scope = NewDisposeScope();
        Tensor Load(int i) => tensor(layers[i].Values, [t, d]).to(ScalarType.Float64);
        static Tensor Cos(Tensor a, Tensor b) =>
            (a * b).sum(1) / (a.norm(1).ClampMin(1e-12) * b.norm(1).ClampMin(1e-12));

        var final = Load(count - 1);
        var step = new List<Tensor>();
        var cosNext = new List<Tensor>();
        var cosFinal = new List<Tensor>();
        var curvature = new List<Tensor>();
        var prev = Load(0);
        Tensor? prevStep = null;
        cosFinal.Add(Cos(prev, final));
        for (var i = 1; i < count; i++)
        {
            var cur = Load(i);
            var s = cur - prev;
            step.Add(s.norm(1));
            cosNext.Add(Cos(prev, cur));
            cosFinal.Add(Cos(cur, final));
            if (prevStep is not null) curvature.Add(Cos(prevStep, s).Clamp(-1.0, 1.0).acos());
            (prev, prevStep) = (cur, s);
        }

        (float[], int) Pack(List<Tensor> columns) => columns.Count == 0
            ? ([], 0)
            : (Models.NativeTensor.ToFloatArray(stack(columns, 1)), columns.Count);
        return new Dictionary<string, (float[], int)>
        {
            ["step_length"] = Pack(step),
            ["cosine_next"] = Pack(cosNext),
            ["cosine_final"] = Pack(cosFinal),
            ["curvature"] = Pack(curvature),
        };
    }
}
