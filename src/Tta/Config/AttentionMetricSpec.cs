namespace Tta.Config;

/// <summary>
/// Attention decomposition of the attention modules of the given blocks (0-based block index, as in module paths
/// such as <c>encoder.block.0</c>); <see cref="Heads"/> null = every head.
/// </summary>
public sealed record AttentionMetricSpec(
    IReadOnlyList<int> Layers,
    IReadOnlyList<int>? Heads,
    [property: System.Text.Json.Serialization.JsonIgnore] SourceSpan At, // where, for messages; not a setting
    IReadOnlyList<int>? EncoderHeads = null, // encoder_heads / decoder_heads override heads for one stack,
    IReadOnlyList<int>? DecoderHeads = null) // as the paper picks different heads of each
{
    /// <summary>The metric kind's name in <c>metrics:</c>.</summary>
    public const string Key = "attention";

    /// <summary>The heads asked for in a stack (<c>encoder</c>, <c>decoder</c>, <c>decoder-only</c>); null = all.</summary>
    public IReadOnlyList<int>? HeadsFor(string stack) => stack switch
    {
        "encoder" => EncoderHeads ?? Heads,
        "decoder" => DecoderHeads ?? Heads,
        _ => Heads,
    };
}
