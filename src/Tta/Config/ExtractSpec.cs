namespace Tta.Config;

/// <summary>
/// What to capture: glob patterns over capture-point names, optional layer subset, token limit. The positions are for
/// messages only: they are not settings (not in fingerprints, so moving a line in the file reruns nothing).
/// <see cref="Batch"/> is a setting kept out of the section's params: Extract declares it only when it is above 1, so
/// experiments without it keep their fingerprints.
/// </summary>
public sealed record ExtractSpec(
    IReadOnlyList<string> Points,       // default ["*hidden_states.*"]
    IReadOnlyList<int>? Layers,         // null = all layers
    int MaxTokens,                      // default 512; longer texts are an error, not silently cut
    [property: System.Text.Json.Serialization.JsonIgnore] SourceSpan? LayersAt,
    [property: System.Text.Json.Serialization.JsonIgnore] IReadOnlyList<SourceSpan>? PointsAt = null,
    // Texts per forward pass (default 1): above 1, texts of similar length run as one padded batch where the
    // architecture supports it (Extract's param extract.batch, declared only then).
    [property: System.Text.Json.Serialization.JsonIgnore] int Batch = 1);
