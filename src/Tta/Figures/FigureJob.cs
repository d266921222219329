namespace Tta.Figures;

/// <summary>
/// One figure to render: its file stem (for messages), the call that writes its files and returns their paths, and
/// for heatmaps the spec it draws (so callers and tests can inspect it).
/// </summary>
public sealed record FigureJob(string Stem, Func<IReadOnlyList<string>> Render, HeatmapSpec? Heatmap = null);
