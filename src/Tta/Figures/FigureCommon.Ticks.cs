using System.Globalization;
using ScottPlot;
using ScottPlot.Panels;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using SkiaSharp;
using Tta.Cache;

namespace Tta.Figures;

/// <summary>The axes' ticks: nice numbers, colorbar ticks, padded ranges, index and token ticks.</summary>
internal static partial class FigureCommon
{
    /// <summary>
    /// Round-numbered ticks inside [min, max], about one per <paramref name="pixelsPerTick"/> of axis, labelled with at
    /// most <see cref="NumberLabels.MaxChars"/> characters.
    /// </summary>
    public static FigureTicks NiceTicks(double min, double max, float axisPixels, float pixelsPerTick = 40)
    {
        var span = max - min;
        if (!(span > 0))
            return new FigureTicks([min], NumberLabels.Format([min], 0), TickSize, false);
        var target = Math.Clamp((int)(axisPixels / pixelsPerTick), 2, 10);
        var raw = span / target;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw * (1 - 1e-9));
        var positions = new List<double>();
        for (var k = Math.Ceiling(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
        {
            var v = k * step;
            if (Math.Abs(v) < step * 1e-9)
                v = 0;
            positions.Add(v);
        }
        return new FigureTicks([.. positions], NumberLabels.Format(positions, step), TickSize, false);
    }

    /// <summary>
    /// Ticks for a colour bar whose range is the data's own [min, max] (not padded to round numbers, so a plain
    /// <see cref="NiceTicks"/> step can leave a single tick inside it): the largest round step (1, 2, 2.5 or 5 × 10ⁿ) that
    /// puts at least <c>axisPixels / pixelsPerTick</c> ticks, and never fewer than three, inside the range, as long as
    /// the labels stay <paramref name="minSpacing"/> pixels apart; a bar too short for three gets two.
    /// </summary>
    public static FigureTicks ColorbarTicks(double min, double max, float axisPixels, float pixelsPerTick = 40, float minSpacing = 18)
    {
        var span = max - min;
        if (!(span > 0) || !double.IsFinite(span))
            return NiceTicks(min, max, axisPixels, pixelsPerTick);
        var fit = Math.Clamp((int)(axisPixels / minSpacing) + 1, 2, 10);
        var wanted = Math.Clamp((int)(axisPixels / pixelsPerTick), Math.Min(3, fit), fit);
        double? chosen = null, fallback = null;
        for (var exponent = (int)Math.Ceiling(Math.Log10(span)); chosen is null && exponent > Math.Log10(span) - 4; exponent--)
            foreach (var m in new[] { 5.0, 2.5, 2.0, 1.0 })
            {
                var step = m * Math.Pow(10, exponent);
                var count = Math.Floor(max / step + 1e-9) - Math.Ceiling(min / step - 1e-9) + 1;
                if (count >= Math.Min(3, fit) && count <= fit)
                    fallback = step;
                if (count < wanted)
                    continue;
                chosen = count <= fit ? step : fallback ?? step;
                break;
            }
        var stepSize = chosen ?? fallback ?? span;
        var positions = new List<double>();
        for (var k = Math.Ceiling(min / stepSize - 1e-9); k * stepSize <= max + stepSize * 1e-9; k++)
            positions.Add(Math.Abs(k * stepSize) < stepSize * 1e-9 ? 0 : k * stepSize);
        return new FigureTicks([.. positions], NumberLabels.Format(positions, stepSize), TickSize, false);
    }

    /// <summary>A value range padded to round numbers: [floor to step, ceil to step], always containing 0 if asked.</summary>
    public static (double Min, double Max) PaddedRange(IEnumerable<double> values, bool includeZero)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values)
        {
            if (!double.IsFinite(v))
                continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (double.IsPositiveInfinity(min))
            (min, max) = (0, 1);
        if (includeZero)
        {
            min = Math.Min(min, 0);
            max = Math.Max(max, 0);
        }
        if (min == max)
            (min, max) = (min - 0.5, max + 0.5);
        var pad = (max - min) * 0.05;
        return (min < 0 || !includeZero ? min - pad : min, max > 0 || !includeZero ? max + pad : max);
    }

    /// <summary>
    /// Integer ticks 0..count-1 (cell centres at i + 0.5 when <paramref name="centred"/>), thinned so labels are at least
    /// <paramref name="minSpacingPx"/> apart (default: the widest label plus 10 pixels, and at least a line height).
    /// </summary>
    public static FigureTicks IndexTicks(int first, int count, float pixelsPerUnit, bool centred, bool flip = false,
        float? minSpacingPx = null)
    {
        float spacing;
        if (minSpacingPx is { } given)
        {
            spacing = given;
        }
        else
        {
            using var font = FigureFont.CreateFont(TickSize);
            var widest = font.MeasureText((first + count - 1).ToString(CultureInfo.InvariantCulture));
            spacing = Math.Max(widest + 10, font.Spacing + 4);
        }
        var step = HeatmapFigure.TickStep(count, tokens: false, Math.Max(1, (int)pixelsPerUnit), spacing);
        var positions = new List<double>();
        var labels = new List<string>();
        for (var i = 0; i < count; i += step)
        {
            var p = centred ? i + 0.5 : i;
            positions.Add(flip ? count - p : p);
            labels.Add((first + i).ToString(CultureInfo.InvariantCulture));
        }
        return new FigureTicks([.. positions], [.. labels], TickSize, false);
    }

    /// <summary>Token labels (<see cref="TokenLabels"/>) for cells 0..count-1, rotated on a horizontal axis, thinned to fit.</summary>
    public static FigureTicks TokenTicks(IReadOnlyList<string> tokens, int cellPixels, bool horizontal, bool flip = false)
    {
        float size = Math.Clamp(cellPixels - 2, 7, 11);
        using var font = FigureFont.CreateFont(size);
        var count = tokens.Count;
        var step = HeatmapFigure.TickStep(count, tokens: true, cellPixels, font.Spacing);
        var all = TokenLabels.Labels(tokens);
        var positions = new List<double>();
        var labels = new List<string>();
        for (var i = 0; i < count; i += step)
        {
            positions.Add(flip ? count - i - 0.5 : i + 0.5);
            labels.Add(all[i]);
        }
        return new FigureTicks([.. positions], [.. labels], size, horizontal);
    }
}
