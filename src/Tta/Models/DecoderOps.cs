using TorchSharp;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>Masks, positions, activations and attention shared by the decoder-only models.</summary>
public static class DecoderOps
{
    /// <summary>
    /// Which (query, key) pairs may attend, [batch, 1, seq, seq] bool: key at or before the query (causal) and a real
    /// token (attention_mask 1). Left and right padding alike.
    /// </summary>
    public static Tensor AllowedPairs(Tensor attentionMask)
    {
        var seq = attentionMask.shape[1];
        var causal = ones([seq, seq], ScalarType.Bool, attentionMask.device).tril();
        var keys = attentionMask.Ne(0).unsqueeze(1).unsqueeze(1); // [b, 1, 1, k]
        return causal.unsqueeze(0).unsqueeze(0).logical_and(keys);
    }

    /// <summary>Additive mask in <paramref name="dtype"/>: 0 where allowed, the dtype's lowest value elsewhere (as Hugging Face's eager attention).</summary>
    public static Tensor AdditiveMask(Tensor allowed, ScalarType dtype)
    {
        var lowest = finfo(dtype).min;
        var zero = zeros(1, dtype, allowed.device);
        return where(allowed, zero, ScalarOps.Full([1], lowest, dtype, allowed.device));
    }

    /// <summary>
    /// Position ids. Without left padding (no row has a real token after a pad) Hugging Face's forward uses
    /// <c>arange(seq)</c>, shaped [1, seq]; with left padding we follow its <c>generate()</c> convention,
    /// <c>cumsum(mask) - 1</c> with pads set to 1, shaped [batch, seq], so every sequence's real tokens sit at 0..n-1.
    /// </summary>
    public static Tensor PositionIds(Tensor attentionMask)
    {
        var seq = attentionMask.shape[1];
        var real = attentionMask.Ne(0);
        var leftPadded = seq > 1 && real.narrow(1, 1, seq - 1).logical_and(real.narrow(1, 0, seq - 1).logical_not()).any().item<bool>();
        if (!leftPadded) return ScalarOps.Arange(seq, ScalarType.Int64, attentionMask.device).unsqueeze(0);
        var pos = real.to_type(ScalarType.Int64).cumsum(1).Sub(1L);
        return pos.MaskedFill(real.logical_not(), 1L);
    }

    public static readonly IReadOnlyList<string> Activations = ["gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh"];

    /// <summary>Fails early, at load time, for an activation <see cref="Activation"/> does not know.</summary>
    public static string CheckActivation(string name, string modelType) => Activations.Contains(name)
        ? name
        : throw new NotSupportedException($"{modelType}: activation '{name}' is not supported ({string.Join(", ", Activations)})");

    /// <summary>
    /// Hugging Face activations by config name (<c>ACT2FN</c>). gelu_new is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
    /// which is torch's tanh-approximated GELU (one fused kernel, no scalars).
    /// </summary>
    public static Tensor Activation(string name, Tensor x) => name switch
    {
        "gelu" or "gelu_python" => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        "silu" or "swish" => nn.functional.silu(x),
        "tanh" => tanh(x),
        _ => throw new NotSupportedException($"activation '{name}' is not supported ({string.Join(", ", Activations)})"),
    };

    /// <summary>Repeats each of the KV heads [b, kv, s, d] for <paramref name="groups"/> query heads: query head i uses KV head i / groups.</summary>
    public static Tensor RepeatKv(Tensor kv, long groups)
    {
        if (groups == 1) return kv;
        var (b, h, s, d) = (kv.shape[0], kv.shape[1], kv.shape[2], kv.shape[3]);
        return kv.unsqueeze(2).expand(b, h, groups, s, d).reshape(b, h * groups, s, d);
    }

    /// <summary>
    /// Scaled dot-product attention with capture: scores = q·kᵀ·scale + mask (recorded as <c>PATH.scores</c>),
    /// probs = softmax (recorded as <c>PATH.probs</c>, computed in float32 when <paramref name="softmaxInFloat32"/>),
    /// returns probs·v [b, h, s, d] and the probs.
    /// </summary>
    public static (Tensor Output, Tensor Probs) Attend(Tensor q, Tensor k, Tensor v, Tensor mask, double scale,
        bool softmaxInFloat32, ActivationCapture capture, CaptureSite at)
    {
        var groups = q.shape[1] / k.shape[1];
        if (q.shape[1] != groups * k.shape[1])
            throw new InvalidOperationException($"{at.Path}: {q.shape[1]} query heads are not a multiple of {k.shape[1]} KV heads");
        k = RepeatKv(k, groups);
        v = RepeatKv(v, groups);
        var scores = matmul(q, k.transpose(-1, -2)).MulInPlace(scale);
        scores.AddInPlace(mask);
        capture.Record(at.Part("scores", CaptureKind.AttentionScores), scores);
        var probs = softmaxInFloat32
            ? scores.softmax(-1, ScalarType.Float32).to_type(q.dtype)
            : scores.softmax(-1);
        capture.Record(at.Part("probs", CaptureKind.AttentionProbs), probs);
        return (matmul(probs, v), probs);
    }

    /// <summary>What <see cref="Attend"/> records.</summary>
    public static IEnumerable<CapturePoint> AttendPoints(CaptureSite at) =>
        [at.Part("scores", CaptureKind.AttentionScores), at.Part("probs", CaptureKind.AttentionProbs)];

    /// <summary>[b, h, s, d] → [b, s, h·d].</summary>
    public static Tensor MergeHeads(Tensor x) =>
        x.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], x.shape[1] * x.shape[3]);

    /// <summary>[b, s, h·d] → [b, h, s, d].</summary>
    public static Tensor SplitHeads(Tensor x, long heads, long headDim) =>
        x.view(x.shape[0], x.shape[1], heads, headDim).transpose(1, 2);

    /// <summary>Records <paramref name="value"/> when wanted and returns it.</summary>
    internal static Tensor Rec(this ActivationCapture capture, CapturePoint point, Tensor value)
    {
        capture.Record(point, value);
        return value;
    }
}
