using Tta.Explorer;

namespace Tta.Metrics.Similarity;

/// <summary>
/// A similarity map, in depth order within its measure; <see cref="Map"/> indexes <see cref="PageData.Maps"/>.
/// <see cref="Label"/> is what its figure's title says of it (<see cref="Figures.LayerNames.Map"/>).
/// </summary>
public sealed record SimilarityEntry(string Stack, string Point, int Layer, string Label, string Measure, int Map) : ViewEntry;
