using ScottPlot;
using ScottPlot.Plottables;

namespace Tta.Figures;

/// <summary>Renders <see cref="LineChartSpec"/>s to PNG, SVG and one-page vector PDF, deterministically and atomically.</summary>
public static class LineFigure
{
    public const int MinDataWidth = 240;
    public const int MaxLegendEntries = 10;

    public static IReadOnlyList<string> Render(LineChartSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats,
        int dpi = FigureFiles.DefaultDpi, bool thumbnails = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var plan = Plan(spec);
        var legend = spec.SeriesLabels?.Select(LegendLabel) ?? [];
        return FigureCommon.WriteAll(pathWithoutExtension, formats, plan.Layout, spec.Title, (_, overlay) => Build(spec, plan, overlay),
            FigureCommon.Texts(plan.X, plan.Y).Concat(legend).Concat([spec.XLabel, spec.YLabel, "± 1 s.d.", $"mean of {spec.Series}"]), dpi, thumbnails);
    }

    /// <summary>A series label as the legend shows it: as given (callers make tokens readable), cut at 24 characters.</summary>
    public static string LegendLabel(string label) => TokenLabels.Cut(label ?? "", 24);

    public static FigureLayout ComputeLayout(LineChartSpec spec) => Plan(spec).Layout;

    /// <summary>Mean and population standard deviation over series at each point, ignoring non-finite values (NaN where none).</summary>
    public static (double[] Mean, double[] Std) MeanAndStd(float[] values, int series, int points)
    {
        var mean = new double[points];
        var std = new double[points];
        for (var p = 0; p < points; p++)
        {
            double sum = 0, sumSq = 0;
            var n = 0;
            for (var s = 0; s < series; s++)
            {
                var v = values[s * points + p];
                if (!float.IsFinite(v))
                    continue;
                sum += v;
                n++;
            }
            if (n == 0)
            {
                mean[p] = std[p] = double.NaN;
                continue;
            }
            var m = sum / n;
            for (var s = 0; s < series; s++)
            {
                var v = values[s * points + p];
                if (float.IsFinite(v))
                    sumSq += (v - m) * (v - m);
            }
            mean[p] = m;
            std[p] = Math.Sqrt(sumSq / n);
        }
        return (mean, std);
    }

    private sealed record LinePlan(FigureLayout Layout, double XMin, double XMax, double YMin, double YMax,
        FigureTicks X, FigureTicks Y, IColormap Colormap, double[]? Mean, double[]? Std);

    private static LinePlan Plan(LineChartSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec.Values);
        if (spec.Series <= 0 || spec.Points <= 0)
            throw new ArgumentException($"a line chart needs at least one series and point (got {spec.Series}x{spec.Points})");
        if ((long)spec.Series * spec.Points != spec.Values.Length)
            throw new ArgumentException($"line values hold {spec.Values.Length} entries, not {spec.Series}x{spec.Points}");
        if (spec.SeriesLabels is not null && spec.SeriesLabels.Count != spec.Series)
            throw new ArgumentException($"{spec.SeriesLabels.Count} series labels for {spec.Series} series");
        if (spec.PointPixels < 1 || spec.PlotHeight < 20)
            throw new ArgumentException($"PointPixels must be at least 1 and PlotHeight at least 20 (got {spec.PointPixels}, {spec.PlotHeight})");
        var colormap = Colormaps.Get(spec.Colormap);

        double[]? mean = null, std = null;
        IEnumerable<double> plotted;
        if (spec.Mode == LineMode.MeanBand)
        {
            (mean, std) = MeanAndStd(spec.Values, spec.Series, spec.Points);
            plotted = mean.Zip(std, (m, s) => m - s).Concat(mean.Zip(std, (m, s) => m + s));
        }
        else
        {
            plotted = spec.Values.Select(v => (double)v);
        }
        var (yMin, yMax) = FigureCommon.PaddedRange(plotted, includeZero: false);

        var dataW = Math.Max(MinDataWidth, spec.Points * spec.PointPixels);
        // Points sit at the centres of Points equal slots across the data area.
        double xMin = spec.FirstX - 0.5, xMax = spec.FirstX + spec.Points - 0.5;
        FigureTicks x;
        if (spec.SeriesX is { } seriesX)
        {
            if (spec.Mode != LineMode.PerSeries || seriesX.Count != spec.Series || seriesX.Any(xs => xs.Length != spec.Points))
                throw new ArgumentException($"SeriesX needs PerSeries lines and {spec.Series} arrays of {spec.Points} x values");
            var finite = seriesX.SelectMany(xs => xs).Where(double.IsFinite).DefaultIfEmpty(0).ToList();
            (xMin, xMax) = (finite.Min(), finite.Max());
            var pad = xMax > xMin ? (xMax - xMin) * 0.03 : 0.5;
            x = FigureCommon.NiceTicks(xMin, xMax, dataW);
            (xMin, xMax) = (xMin - pad, xMax + pad);
        }
        else
        {
            x = FigureCommon.IndexTicks(spec.FirstX, spec.Points, dataW / (float)spec.Points, centred: false);
            x = x with { Positions = [.. x.Positions.Select(p => p + spec.FirstX)] };
        }
        var y = FigureCommon.NiceTicks(yMin, yMax, spec.PlotHeight);
        var layout = FigureCommon.Layout(dataW, spec.PlotHeight, x, y, spec.Title, spec.XLabel, spec.YLabel, FigureCommon.Outer);
        return new LinePlan(layout, xMin, xMax, yMin, yMax, x, y, colormap, mean, std);
    }

    private static Plot Build(LineChartSpec spec, LinePlan plan, LabelOverlay overlay)
    {
        return FigureCommon.Drawn(FigureCommon.NewPlot(plan.Layout, spec.Title, plan.X, plan.Y, spec.XLabel, spec.YLabel,
            plan.XMin, plan.XMax, plan.YMin, plan.YMax, FigureCommon.Outer, overlay), plot =>
        {
            var xs = Enumerable.Range(spec.FirstX, spec.Points).Select(i => (double)i).ToArray();
            var legend = false;
            List<Scatter> lines = [];
            if (spec.Mode == LineMode.MeanBand)
            {
                var color = Colormaps.Cividis.GetColor(0.15);
                var lower = plan.Mean!.Zip(plan.Std!, (m, s) => m - s).ToArray();
                var upper = plan.Mean!.Zip(plan.Std!, (m, s) => m + s).ToArray();
                var band = plot.Add.FillY(xs, lower, upper);
                band.FillColor = color.WithAlpha(0.25);
                band.LineWidth = 0;
                band.LegendText = "± 1 s.d.";
                var line = plot.Add.ScatterLine(xs, plan.Mean!, color);
                line.LineWidth = 2;
                line.MarkerSize = 4;
                line.LegendText = $"mean of {spec.Series}";
                legend = true;
            }
            else
            {
                var labelled = spec.SeriesLabels is not null && spec.Series <= MaxLegendEntries;
                for (var s = 0; s < spec.Series; s++)
                {
                    var ys = new double[spec.Points];
                    for (var p = 0; p < spec.Points; p++)
                    {
                        var v = spec.Values[s * spec.Points + p];
                        ys[p] = float.IsFinite(v) ? v : double.NaN;
                    }
                    var (lineX, lineY) = (xs, ys);
                    if (spec.SeriesX is { } seriesX)
                    {
                        var kept = Enumerable.Range(0, spec.Points).Where(p => double.IsFinite(seriesX[s][p]) && double.IsFinite(ys[p])).ToArray();
                        (lineX, lineY) = ([.. kept.Select(p => seriesX[s][p])], [.. kept.Select(p => ys[p])]);
                    }
                    // Stay clear of the palest end so every line shows on white.
                    var position = spec.Series == 1 ? 0.2 : 0.85 * s / (spec.Series - 1);
                    var line = plot.Add.ScatterLine(lineX, lineY, plan.Colormap.GetColor(position));
                    line.LineWidth = 1.5f;
                    line.MarkerSize = spec.Points <= 64 ? 3 : 0;
                    if (labelled)
                        line.LegendText = LegendLabel(spec.SeriesLabels![s]);
                    lines.Add(line);
                }
                legend = labelled;
            }
            if (legend)
            {
                plot.Legend.IsVisible = true;
                plot.Legend.Alignment = Alignment.UpperRight;
                plot.Legend.FontSize = 10;
                plot.Legend.FontName = overlay.FontName;
                overlay.TakeLegend(plot, lines);
            }
            else
            {
                plot.Legend.IsVisible = false;
            }
            plot.Axes.SetLimits(plan.XMin, plan.XMax, plan.YMin, plan.YMax);
        });
    }
}
