using System.Text.Json.Nodes;
using Tta.Extract;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Attention;

/// <summary>
/// The parts of one attention module's pre-softmax score, per head: the query·key term, the additive position bias
/// (T5), its kernel (one row of the bias as a function of key position), the combined score (mask included) and the
/// post-softmax weights. Tensors are float32 CPU: <see cref="PositionBias"/>, <see cref="Scores"/> and
/// <see cref="Probs"/> are [heads, queries, keys]; <see cref="Qk"/> computes one head's [queries, keys] term on demand
/// (so only one head's extra map is in memory at a time). Null when the model has no such term (or, for
/// <see cref="Qk"/>, when it cannot be recovered from the captures, see <see cref="AttentionDecomposition"/>).
/// </summary>
public sealed record AttentionParts(string Path, string Stack, int Layer, bool Causal, Func<int, Tensor>? Qk, Tensor? PositionBias,
    Tensor Scores, Tensor Probs, bool Cross = false)
{
    public long Heads => Scores.shape[0];
}
