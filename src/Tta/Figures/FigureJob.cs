namespace Tta.Figures;

/// <summary>
/// One figure to render: its file stem, the call that writes its files and returns their paths, for heatmaps the spec
/// it draws (so callers and tests can inspect it), and what it shows (<see cref="FigureRecord"/>, recorded by the
/// Figures unit for the explorer).
/// </summary>
public sealed record FigureJob(string Stem, Func<IReadOnlyList<string>> Render, HeatmapSpec? Heatmap = null, FigureRecord? Record = null);
