using System.Globalization;
using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// Bars at integer positions (e.g. relative key positions -k..k). <paramref name="Positions"/> are distinct integers,
/// one per value (null: 0..n-1). Each unit of the x axis is <paramref name="BarPixels"/> wide, so the image grows with
/// the span of positions; the data area is <paramref name="PlotHeight"/> pixels tall. Non-finite values draw no bar.
/// </summary>
public sealed record BarChartSpec(
    float[] Values,
    int[]? Positions,
    string Title,
    string XLabel,
    string YLabel,
    int BarPixels = 12,
    int PlotHeight = 240);
