using System.Text.Json.Nodes;
using Tta.Models;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Metrics.Attention;

/// <summary>
/// Attention decomposition (the paper's layer-0 figures of Flan-T5-xl). The Extract pass also stores the attention
/// quantities of the chosen blocks (<see cref="AttentionCaptures.Filter"/>, attention-inputs.parquet); the query·key term is then
/// recomputed from the captured query and key projections, per head, exactly as the model combines them: each
/// architecture says how (<see cref="IArchitecture.QueryKey"/>: T5 unscaled beside its relative position bias, BERT
/// and Llama / √d_head, Llama after the rotary embedding with grouped key heads, GPT-2 split from its fused projection
/// with its scaling flags; Falcon's fused, layout-dependent projection is not decomposed, only scores and probs are
/// reported). The position bias is the captured <see cref="CaptureKind.PositionBias"/> (without the mask).
/// So for every model except Falcon, <c>qk + position_bias + mask = scores</c> (the mask being 0 where attention
/// is allowed).
/// </summary>
public static class AttentionDecomposition
{
    public static readonly IReadOnlyList<string> Measures = ["qk", "position_bias", "kernel", "scores", "probs"];

    /// <summary>
    /// Runs <paramref name="net"/> on one text and decomposes the attention modules of the blocks that
    /// <paramref name="capture"/> (made with <see cref="AttentionCaptures.Filter"/>) selects; the parts share the capture's
    /// tensors, so the caller disposes it when done with them. (The pipeline does not run a model for this: Extract
    /// stores the same captures, see <see cref="FromStore"/>.)
    /// </summary>
    public static List<AttentionParts> Run(ITransformerModel net, long[] ids, ActivationCapture capture)
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
            net.Run(ModelInputs.ForText(net, ids), capture);
        return Decompose(capture, net.Architecture, net.Config);
    }

    /// <summary>
    /// The captures of a stored attention-inputs file as they were recorded (what each point is comes from the file's
    /// <paramref name="points"/>): per-head blocks of a point stacked back into [1, heads, rows, cols], other points
    /// [1, rows, cols], in the order they were written.
    /// </summary>
    public static ActivationCapture FromStore(IReadOnlyList<VectorBlock> blocks, StoredPoints points)
    {
        var capture = ActivationCapture.All();
        foreach (var group in blocks.GroupBy(b => b.Key.Point))
        {
            var first = group.First();
            var point = points[first.Key with { Head = null }];
            if (first.Key.Head is null)
            {
                capture.Adopt(point, NativeTensor.FromFloats(first.Values, [1, first.Positions, first.Dim]));
                continue;
            }
            var heads = group.OrderBy(b => b.Key.Head).ToList();
            var values = new float[heads.Sum(b => b.Values.Length)];
            var at = 0;
            foreach (var b in heads)
            {
                b.Values.CopyTo(values, at);
                at += b.Values.Length;
            }
            capture.Adopt(point, NativeTensor.FromFloats(values, [1, heads.Count, first.Positions, first.Dim]));
        }
        return capture;
    }

    /// <summary>Builds the parts of every attention module found in <paramref name="capture"/> (batch of one).</summary>
    public static List<AttentionParts> Decompose(ActivationCapture capture, IArchitecture architecture, JsonObject config)
    {
        var result = new List<AttentionParts>();
        foreach (var (point, scores) in capture.Captured)
        {
            if (point.Kind != CaptureKind.AttentionScores) continue;
            var probs = capture.Find(point.Path, CaptureKind.AttentionProbs)
                ?? throw new InvalidDataException($"{point.Path}: scores captured without probabilities");
            var heads = (int)scores.shape[1];
            var bias = capture.Find(point.Path, CaptureKind.PositionBias) is { } b ? b[0].expand(scores.shape[1..]).contiguous() : null;
            var qk = architecture.QueryKey(capture, point, heads, config) is { } t ? QueryKey(t.Queries, t.Keys, t.Heads, t.KvHeads, t.Scale) : null;
            result.Add(new AttentionParts(point.Path, point.Stack, point.Layer, point.Causal, qk, bias, scores[0], probs[0], point.Cross));
        }
        return result;
    }

    /// <summary>
    /// q [Tq, heads·d] and k [Tk, kvHeads·d] → a function giving scale · q_h k_hᵀ [Tq, Tk] (float32, computed in
    /// float64) for head h; query head h uses key head h / (heads / kvHeads).
    /// </summary>
    public static Func<int, Tensor> QueryKey(Tensor q, Tensor k, int heads, int kvHeads, double scale)
    {
        var d = q.shape[^1] / heads;
        if (q.shape[^1] != heads * d || k.shape[^1] != kvHeads * d || heads % kvHeads != 0)
            throw new ArgumentException($"q {q.shape[^1]} / k {k.shape[^1]} features do not split into {heads} / {kvHeads} heads");
        var groups = heads / kvHeads;
        var (qc, kc) = (q.contiguous().DetachFromDisposeScope(), k.contiguous().DetachFromDisposeScope());
        return h =>
        {
            if (h < 0 || h >= heads) throw new ArgumentOutOfRangeException(nameof(h), $"head {h} of {heads}");
            using var scope = NewDisposeScope();
            var qh = qc.narrow(-1, h * d, d).to(ScalarType.Float64);
            var kh = kc.narrow(-1, h / groups * d, d).to(ScalarType.Float64);
            return qh.matmul(kh.t()).Mul(scale).to(ScalarType.Float32).MoveToOuterDisposeScope();
        };
    }

    /// <summary>
    /// The query row the kernel is read from, as the paper plots it: the middle row for bidirectional (encoder)
    /// attention, row T−10 (at least 0) for causal (decoder) attention.
    /// </summary>
    public static int KernelRow(int queries, bool causal) => causal ? Math.Max(0, queries - 10) : queries / 2;

    /// <summary>One row of a [heads, queries, keys] bias: [heads, keys]; entry j is the bias at relative key position j − row.</summary>
    public static Tensor Kernel(Tensor bias, int row) => bias.select(1, row).contiguous();

    /// <summary>Block key of one part: the module path, its stack and block, the head and the measure.</summary>
    public static ActivationPoint Key(AttentionParts p, int head, string measure) => new(p.Path, p.Stack, p.Layer, head, measure);
}
