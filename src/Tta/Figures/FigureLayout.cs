using System.Globalization;
using ScottPlot;
using ScottPlot.Panels;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using SkiaSharp;
using Tta.Cache;

namespace Tta.Figures;

/// <summary>
/// Pixel geometry of a figure with a fixed data area: the data area spans x in [Left, Width - Right) and y in
/// [Top, Height - Bottom).
/// </summary>
public record FigureLayout(int Width, int Height, int Left, int Top, int Right, int Bottom)
{
    public int DataWidth => Width - Left - Right;

    public int DataHeight => Height - Top - Bottom;
}
