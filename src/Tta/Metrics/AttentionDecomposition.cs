using System.Text.Json.Nodes;
using Tta.Extract;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics;

/// <summary>
/// The parts of one attention module's pre-softmax score, per head: the query·key term, the additive position bias
/// (T5), its kernel (one row of the bias as a function of key position), the combined score (mask included) and the
/// post-softmax weights. Tensors are float32 CPU: <see cref="PositionBias"/>, <see cref="Scores"/> and
/// <see cref="Probs"/> are [heads, queries, keys]; <see cref="Qk"/> computes one head's [queries, keys] term on demand
/// (so only one head's extra map is in memory at a time). Null when the model has no such term (or, for
/// <see cref="Qk"/>, when it cannot be recovered from the captures, see <see cref="AttentionDecomposition"/>).
/// </summary>
public sealed record AttentionParts(string Path, string Stack, int Layer, bool Causal, Func<int, Tensor>? Qk, Tensor? PositionBias,
    Tensor Scores, Tensor Probs)
{
    public long Heads => Scores.shape[0];
}

/// <summary>
/// Attention decomposition (the paper's layer-0 figures of Flan-T5-xl). The Extract pass also stores the attention
/// quantities of the chosen blocks (<see cref="CaptureFilter"/>, attention-inputs.parquet); the query·key term is then
/// recomputed from the captured query and key projections, per head, exactly as the model combines them:
/// <list type="bullet">
/// <item>T5: <c>PATH.q</c> · <c>PATH.k</c>ᵀ, no scaling (T5 folds it into the initialisation); the position bias is
/// the captured <c>PATH.position_bias</c> (without the mask).</item>
/// <item>BERT: <c>PATH.query</c> · <c>PATH.key</c>ᵀ / √d_head.</item>
/// <item>GPT-2: q and k split from <c>PATH.c_attn</c>, times the model's scale (1/√d_head if
/// <c>scale_attn_weights</c>, divided by layer+1 if <c>scale_attn_by_inverse_layer_idx</c>).</item>
/// <item>Llama: <c>PATH.q_proj</c> and <c>PATH.k_proj</c> after the rotary embedding (the captured
/// <c>model.rotary_emb</c> cos/sin), key heads repeated for grouped-query attention, / √d_head. RoPE puts position
/// into q and k, so there is no separate bias term.</item>
/// <item>Falcon: its fused, layout-dependent query_key_value projection is not decomposed; only scores and probs
/// are reported.</item>
/// </list>
/// So for every model except Falcon, <c>qk + position_bias + mask = scores</c> (the mask being 0 where attention
/// is allowed).
/// </summary>
public static class AttentionDecomposition
{
    public static readonly IReadOnlyList<string> Measures = ["qk", "position_bias", "kernel", "scores", "probs"];

    private static readonly string[] Suffixes =
        [".scores", ".probs", ".position_bias", ".q", ".k", ".query", ".key", ".c_attn", ".q_proj", ".k_proj"];

    /// <summary>Capture filter: the attention quantities of the given blocks (plus rotary tables, which are layer-free).</summary>
    public static Func<string, bool> CaptureFilter(IReadOnlyCollection<int> layers) => name =>
        name is "model.rotary_emb#0" or "model.rotary_emb#1"
        || Suffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal)) && layers.Contains(ExtractStage.LayerOf(name));

    /// <summary>tta.format of the attention captures Extract stores for this decomposition (attention-inputs.parquet).</summary>
    public const string InputsFormat = "attention-inputs/1";

    /// <summary>
    /// Runs <paramref name="net"/> on one text and decomposes the attention modules of the blocks that
    /// <paramref name="capture"/> (made with <see cref="CaptureFilter"/>) selects; the parts share the capture's
    /// tensors, so the caller disposes it when done with them. (The pipeline does not run a model for this: Extract
    /// stores the same captures, see <see cref="FromStore"/>.)
    /// </summary>
    public static List<AttentionParts> Run(ITransformerModel net, long[] ids, ActivationCapture capture)
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
            net.Run(ModelInputs.ForText(net, ids), capture);
        return Decompose(capture, net.ModelType, net.Config, net.Stacks);
    }

    /// <summary>
    /// The captures of a stored attention-inputs file as they were recorded: per-head blocks of a point stacked back
    /// into [1, heads, rows, cols], other points [1, rows, cols], in the order they were written.
    /// </summary>
    public static ActivationCapture FromStore(IReadOnlyList<VectorBlock> blocks)
    {
        var capture = ActivationCapture.All();
        foreach (var group in blocks.GroupBy(b => b.Key.Point))
        {
            var first = group.First();
            if (first.Key.Head is null)
            {
                capture.Adopt(group.Key, NativeTensor.FromFloats(first.Values, [1, first.Positions, first.Dim]));
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
            capture.Adopt(group.Key, NativeTensor.FromFloats(values, [1, heads.Count, first.Positions, first.Dim]));
        }
        return capture;
    }

    /// <summary>Builds the parts of every attention module found in <paramref name="capture"/> (batch of one).</summary>
    public static List<AttentionParts> Decompose(ActivationCapture capture, string modelType, JsonObject config, IReadOnlyList<string> stacks)
    {
        var result = new List<AttentionParts>();
        foreach (var (name, scores) in capture.Items)
        {
            if (!name.EndsWith(".scores", StringComparison.Ordinal)) continue;
            var path = name[..^".scores".Length];
            var layer = ExtractStage.LayerOf(path);
            var stack = ExtractStage.StackOf(path, stacks);
            var probs = capture[path + ".probs"];
            var heads = (int)scores.shape[1];
            var bias = capture.Contains(path + ".position_bias") ? capture[path + ".position_bias"][0].expand(scores.shape[1..]).contiguous() : null;
            var qk = QueryKey(capture, modelType, config, path, layer, heads);
            // A decoder stack (or a decoder-only model) attends causally; cross-attention has queries ≠ keys.
            var causal = stack is "decoder" or "decoder-only" && !path.Contains("EncDecAttention", StringComparison.Ordinal);
            result.Add(new AttentionParts(path, stack, layer, causal, qk, bias, scores[0], probs[0]));
        }
        return result;
    }

    private static Func<int, Tensor>? QueryKey(ActivationCapture c, string modelType, JsonObject config, string path, int layer, int heads)
    {
        switch (modelType)
        {
            case "t5":
                return Has(c, path, ".q", ".k") ? QueryKey(c[path + ".q"][0], c[path + ".k"][0], heads, heads, 1.0) : null;
            case "bert":
                {
                    if (!Has(c, path, ".query", ".key")) return null;
                    var q = c[path + ".query"][0];
                    return QueryKey(q, c[path + ".key"][0], heads, heads, Math.Pow(q.shape[^1] / heads, -0.5));
                }
            case "gpt2":
                {
                    if (!Has(c, path, ".c_attn")) return null;
                    var qkv = c[path + ".c_attn"][0];
                    var hidden = qkv.shape[^1] / 3;
                    var scale = config.Bool("scale_attn_weights", true) ? 1.0 / Math.Sqrt(hidden / heads) : 1.0;
                    if (config.Bool("scale_attn_by_inverse_layer_idx", false)) scale /= layer + 1;
                    return QueryKey(qkv.narrow(-1, 0, hidden), qkv.narrow(-1, hidden, hidden), heads, heads, scale);
                }
            case "llama":
                {
                    if (!Has(c, path, ".q_proj", ".k_proj") || !c.Contains("model.rotary_emb#0")) return null;
                    var q = c[path + ".q_proj"][0];
                    var k = c[path + ".k_proj"][0];
                    var headDim = q.shape[^1] / heads;
                    var kvHeads = (int)(k.shape[^1] / headDim);
                    var (cos, sin) = (c["model.rotary_emb#0"], c["model.rotary_emb#1"]);
                    Tensor Rotate(Tensor x, long h) => Rotary.Apply(x.view(1, x.shape[0], h, headDim).transpose(1, 2), cos, sin)[0]
                        .transpose(0, 1).reshape(x.shape[0], h * headDim);
                    return QueryKey(Rotate(q, heads), Rotate(k, kvHeads), heads, kvHeads, Math.Pow(headDim, -0.5));
                }
            default:
                return null;
        }
    }

    private static bool Has(ActivationCapture c, string path, params string[] suffixes) => suffixes.All(s => c.Contains(path + s));

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
