using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// Per-token metrics across layers. <paramref name="Values"/> is row-major <c>[series, point]</c>
/// (<c>Values[s * Points + p]</c>); point p is drawn at x = <paramref name="FirstX"/> + p. Non-finite values are gaps
/// (PerSeries) or left out of the mean (MeanBand). Each x step is <paramref name="PointPixels"/> wide (data area at
/// least <see cref="LineFigure.MinDataWidth"/>), the data area <paramref name="PlotHeight"/> tall. With at most
/// <see cref="LineFigure.MaxLegendEntries"/> labelled series a legend names them. With <paramref name="SeriesX"/>
/// (PerSeries only) series s's point p is drawn at x = <c>SeriesX[s][p]</c> instead, on a numeric axis (e.g. relative
/// depth 0…1, so models of different depths share one chart); a series' non-finite values are left out.
/// </summary>
public sealed record LineChartSpec(
    float[] Values,
    int Series,
    int Points,
    IReadOnlyList<string>? SeriesLabels,
    string Title,
    string XLabel,
    string YLabel,
    LineMode Mode = LineMode.PerSeries,
    string Colormap = "cividis",
    int FirstX = 0,
    int PointPixels = 32,
    int PlotHeight = 280,
    IReadOnlyList<double[]>? SeriesX = null);
