using System.Globalization;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// Where things go in a rendered heatmap, in pixels (the PDF page is the same at the figure's dpi). The data area,
/// which holds exactly Cols x Rows cells of CellPixels each, spans x in [Left, Width - Right) and y in
/// [Top, Height - Bottom).
/// </summary>
public sealed record HeatmapLayout(int Width, int Height, int Left, int Top, int Right, int Bottom, int CellPixels)
    : FigureLayout(Width, Height, Left, Top, Right, Bottom);
