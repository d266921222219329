using System.Globalization;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// A matrix to draw as a heatmap. <paramref name="Values"/> is row-major (<c>Values[r * Cols + c]</c>), row 0 is drawn
/// at the top. <paramref name="XTicks"/>/<paramref name="YTicks"/> are the tokens of the columns/rows as the tokenizer
/// wrote them (shown through <see cref="TokenLabels"/>; null: numeric indices). Every cell is
/// <paramref name="CellPixels"/> square, so the image grows with the matrix. Values that are −∞ or at most
/// <paramref name="MaskThreshold"/> are masks (<see cref="MaskedValues"/>). <paramref name="CentredOnZero"/> makes the
/// colour range symmetric about 0 (differences, with a diverging colormap such as <c>balance</c>).
/// </summary>
public sealed record HeatmapSpec(
    float[] Values,
    int Rows,
    int Cols,
    string Title,
    string XLabel,
    string YLabel,
    IReadOnlyList<string>? XTicks,
    IReadOnlyList<string>? YTicks,
    string Colormap,
    int CellPixels,
    string ColorbarLabel,
    float MaskThreshold = MaskedValues.DefaultThreshold,
    bool CentredOnZero = false);
