namespace Tta.Figures;

/// <summary>
/// Everything <see cref="HeatmapFigure"/> decides before drawing, the same for every format: geometry, colours, font
/// sizes (pixels) of the title, axis labels and colour-bar ticks, the line width, the labels of both axes and the
/// colour bar with the room their labels take across the axis (extents), and the optional caption (labelled subset),
/// masked legend and "nothing to draw" message. Texts: every string drawn (the PDF's font subset holds their glyphs).
/// </summary>
internal sealed record HeatmapPlan(HeatmapLayout Layout, ColorScale Scale, float TitleSize, float LabelSize, float TickSize,
    float LineWidth, IReadOnlyList<string> TitleLines, HeatmapAxisTicks X, HeatmapAxisTicks Y, FigureTicks Colorbar,
    float XLabelsExtent, float YLabelsExtent, float ColorbarLabelsExtent, float ColorbarGap, float ColorbarWidth, float Gap,
    float Outer, string? Caption, string? Legend, string? Message, IReadOnlyList<string> Texts);
