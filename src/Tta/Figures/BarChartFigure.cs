using System.Globalization;
using ScottPlot;

namespace Tta.Figures;

/// <summary>Renders <see cref="BarChartSpec"/>s to PNG, SVG and one-page vector PDF, deterministically and atomically.</summary>
public static class BarChartFigure
{
    /// <summary>Bar colour: the middle-dark end of cividis.</summary>
    public static readonly Color BarColor = Colormaps.Cividis.GetColor(0.2);

    /// <summary>The data area is at least this wide, however few bars there are.</summary>
    public const int MinDataWidth = 160;

    public static IReadOnlyList<string> Render(BarChartSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats,
        int dpi = FigureFiles.DefaultDpi, bool thumbnails = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var plan = Plan(spec);
        return FigureCommon.WriteAll(pathWithoutExtension, formats, plan.Layout, spec.Title, (_, overlay) => Build(spec, plan, overlay),
            FigureCommon.Texts(plan.X, plan.Y).Concat([spec.XLabel, spec.YLabel]), dpi, thumbnails);
    }

    public static FigureLayout ComputeLayout(BarChartSpec spec) => Plan(spec).Layout;

    private sealed record BarPlan(FigureLayout Layout, int[] Positions, double XMin, double XMax, double YMin, double YMax,
        FigureTicks X, FigureTicks Y);

    private static BarPlan Plan(BarChartSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec.Values);
        if (spec.Values.Length == 0)
            throw new ArgumentException("a bar chart needs at least one value");
        var positions = spec.Positions ?? [.. Enumerable.Range(0, spec.Values.Length)];
        if (positions.Length != spec.Values.Length)
            throw new ArgumentException($"{positions.Length} bar positions for {spec.Values.Length} values");
        if (positions.Distinct().Count() != positions.Length)
            throw new ArgumentException("bar positions must be distinct");
        if (spec.BarPixels < 1 || spec.PlotHeight < 20)
            throw new ArgumentException($"BarPixels must be at least 1 and PlotHeight at least 20 (got {spec.BarPixels}, {spec.PlotHeight})");

        int lo = positions.Min(), hi = positions.Max();
        var units = hi - lo + 1;
        var dataW = units * spec.BarPixels;
        double xMin = lo - 0.5, xMax = hi + 0.5;
        if (dataW < MinDataWidth)
        {
            // Keep BarPixels per unit: widen the axis symmetrically instead of stretching the bars.
            var extraUnits = (MinDataWidth - dataW) / (double)spec.BarPixels;
            xMin -= extraUnits / 2;
            xMax += extraUnits / 2;
            dataW = (int)Math.Round((xMax - xMin) * spec.BarPixels);
        }

        var (yMin, yMax) = FigureCommon.PaddedRange(spec.Values.Select(v => (double)v), includeZero: true);
        var y = FigureCommon.NiceTicks(yMin, yMax, spec.PlotHeight);
        var x = IntegerTicks(lo, hi, spec.BarPixels);
        var layout = FigureCommon.Layout(dataW, spec.PlotHeight, x, y, spec.Title, spec.XLabel, spec.YLabel, FigureCommon.Outer);
        return new BarPlan(layout, positions, xMin, xMax, yMin, yMax, x, y);
    }

    /// <summary>Ticks at multiples of a nice step (always including 0 when in range) so labels do not overlap.</summary>
    private static FigureTicks IntegerTicks(int lo, int hi, int pixelsPerUnit)
    {
        using var font = FigureFont.CreateFont(FigureCommon.TickSize);
        var widest = Math.Max(font.MeasureText(lo.ToString(CultureInfo.InvariantCulture)), font.MeasureText(hi.ToString(CultureInfo.InvariantCulture)));
        var step = HeatmapFigure.TickStep(hi - lo + 1, tokens: false, pixelsPerUnit, widest + 10);
        var positions = new List<double>();
        var labels = new List<string>();
        var first = (int)Math.Ceiling(lo / (double)step) * step;
        for (var p = first; p <= hi; p += step)
        {
            positions.Add(p);
            labels.Add(p.ToString(CultureInfo.InvariantCulture));
        }
        return new FigureTicks([.. positions], [.. labels], FigureCommon.TickSize, false);
    }

    private static Plot Build(BarChartSpec spec, BarPlan plan, LabelOverlay overlay)
    {
        return FigureCommon.Drawn(FigureCommon.NewPlot(plan.Layout, spec.Title, plan.X, plan.Y, spec.XLabel, spec.YLabel,
            plan.XMin, plan.XMax, plan.YMin, plan.YMax, FigureCommon.Outer, overlay), plot =>
        {
            var bars = new List<Bar>();
            for (var i = 0; i < spec.Values.Length; i++)
            {
                var v = spec.Values[i];
                if (!float.IsFinite(v))
                    continue;
                bars.Add(new Bar
                {
                    Position = plan.Positions[i],
                    Value = v,
                    ValueBase = 0,
                    Size = 0.8,
                    FillColor = BarColor,
                    LineWidth = 0,
                });
            }
            plot.Add.Bars(bars);
            if (plan.YMin < 0 && plan.YMax > 0)
            {
                var zero = plot.Add.HorizontalLine(0);
                zero.LineWidth = 1;
                zero.Color = Colors.Black;
            }
            plot.Axes.SetLimits(plan.XMin, plan.XMax, plan.YMin, plan.YMax);
        });
    }
}
