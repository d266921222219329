using System.Globalization;
using ScottPlot;
using ScottPlot.Panels;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using SkiaSharp;
using Tta.Cache;

namespace Tta.Figures;

/// <summary>Tick marks of one axis: positions in plot units and their labels.</summary>
internal sealed record FigureTicks(double[] Positions, string[] Labels, float FontSize, bool Rotated);
