using System.Text;
using System.Text.RegularExpressions;
using SkiaSharp;
using Tta.Cache;

namespace Tta.Figures;

/// <summary>What a figure is being drawn for.</summary>
public enum FigureTarget
{
    Png,
    Pdf,
    Svg,
}
