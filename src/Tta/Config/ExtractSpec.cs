namespace Tta.Config;

/// <summary>
/// What to capture: glob patterns over capture-point names, optional layer subset, token limit. The positions are for
/// messages only: they are not settings (not in fingerprints, so moving a line in the file reruns nothing).
/// </summary>
public sealed record ExtractSpec(
    IReadOnlyList<string> Points,       // default ["*hidden_states.*"]
    IReadOnlyList<int>? Layers,         // null = all layers
    int MaxTokens,                      // default 512; longer texts are an error, not silently cut
    [property: System.Text.Json.Serialization.JsonIgnore] SourceSpan? LayersAt,
    [property: System.Text.Json.Serialization.JsonIgnore] IReadOnlyList<SourceSpan>? PointsAt = null);
