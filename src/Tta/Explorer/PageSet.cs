namespace Tta.Explorer;

/// <summary>One model × text: its tokens (labels) and every view's data.</summary>
public sealed record PageSet(
    string Model,
    string Text,
    IReadOnlyList<string> Tokens,
    IReadOnlyList<SimilarityEntry> Similarity,
    IReadOnlyList<AttentionEntry> Attention,
    IReadOnlyList<ProjectionEntry> Projection,
    IReadOnlyDictionary<string, NearestEntry>? Nearest,
    IReadOnlyList<FigureEntry> Figures);
