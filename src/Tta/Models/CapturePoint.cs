using System.Text.Json;

namespace Tta.Models;

/// <summary>
/// One capture point, described where the model records it.
/// <list type="bullet">
/// <item><see cref="Name"/>: the public name, as Hugging Face names it (module path, <c>path#1</c>, <c>PATH.scores</c>,
/// <c>hidden_states.3</c>); experiment globs match it and stores write it in their <c>point</c> column.</item>
/// <item><see cref="Path"/>: what the tensor belongs to: the module itself for a module output, the attention module
/// for its projections and attention quantities, the series for an output field (<c>encoder_hidden_states</c>,
/// <c>attentions</c>, <c>logits</c>).</item>
/// <item><see cref="Stack"/>: <c>encoder</c>, <c>decoder</c> or <c>decoder-only</c>; <see cref="Layer"/>: N of a
/// hidden state, the block of anything inside one, −1 otherwise; <see cref="Head"/>: the head of a one-head block (a
/// store splits per-head tensors), else null; <see cref="Cross"/>: part of a cross-attention module (decoder queries
/// over encoder keys).</item>
/// </list>
/// </summary>
public sealed record CapturePoint(string Name, string Path, string Stack, int Layer, CaptureKind Kind, int? Head = null, bool Cross = false)
{
    /// <summary>Causal attention: a decoder's (or decoder-only model's) self-attention; cross-attention is not.</summary>
    public bool Causal => Stack is "decoder" or "decoder-only" && !Cross;

    /// <summary>The kind's name in store metadata: snake case (<c>hidden_state</c>, <c>attention_scores</c>).</summary>
    public static string KindName(CaptureKind kind) => JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());

    private static readonly Dictionary<string, CaptureKind> KindsByName = Enum.GetValues<CaptureKind>().ToDictionary(KindName, StringComparer.Ordinal);

    /// <summary>The kind of a name written by <see cref="KindName"/>.</summary>
    public static CaptureKind ParseKind(string name) => KindsByName.TryGetValue(name, out var kind)
        ? kind
        : throw new InvalidDataException($"unknown capture kind '{name}' (known: {string.Join(", ", KindsByName.Keys)})");
}
