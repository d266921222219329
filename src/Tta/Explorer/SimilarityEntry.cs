namespace Tta.Explorer;

/// <summary>A similarity map, in depth order within its measure; <see cref="Map"/> indexes <see cref="PageData.Maps"/>.</summary>
public sealed record SimilarityEntry(string Stack, string Point, int Layer, string Label, string Measure, int Map);
