using System.Globalization;
using System.Text.Json;
using ScottPlot;
using Tta.Metrics;
using Tta.Store;

namespace Tta.Figures;

/// <summary>
/// The <c>projection</c> figure kind (projection.parquet, <see cref="TrajectoryProjectionUnit"/>): one chart per
/// hidden-state series, each token a polyline coloured by position along the colormap. Tokens are labelled at their
/// last layer; above <see cref="MaxLabels"/> tokens a regular subset is labelled and the title says which.
/// </summary>
public static class ProjectionFigure
{
    public const int MaxLabels = 64;

    /// <summary>Charts for every series of a projection.parquet, named <c>STACK-SERIES-projection-pca.*</c>.</summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var (metadata, blocks) = Task.Run(() => VectorStoreReader.ReadAsync(parquet)).GetAwaiter().GetResult();
        var info = metadata.TryGetValue(StoreKeys.Projection, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, TrajectoryProjectionUnit.ProjectionInfo>>(json) ?? []
            : [];
        var points = StoredPoints.Read(metadata, parquet);
        var jobs = new List<FigureJob>();
        foreach (var series in blocks.GroupBy(b => points.SeriesOf(b.Key) ?? b.Key.Point)
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var layers = series.OrderBy(b => b.Key.Layer).ToList();
            var tokens = layers[0].Positions;
            var x = new float[tokens * layers.Count];
            var y = new float[tokens * layers.Count];
            for (var l = 0; l < layers.Count; l++)
                for (var t = 0; t < tokens; t++)
                {
                    x[t * layers.Count + l] = layers[l].Values[t * 2];
                    y[t * layers.Count + l] = layers[l].Values[t * 2 + 1];
                }
            var ratio = info.TryGetValue(series.Key, out var i) ? i.ExplainedVarianceRatio : [double.NaN, double.NaN];
            var stack = layers[0].Key.Stack;
            var spec = new ProjectionSpec(x, y, tokens, [.. layers.Select(b => b.Key.Layer)], c.Labels(stack, tokens),
                Title: c.Title(stack, series.Key, "trajectories, PCA over all layers"),
                XLabel: AxisLabel(1, ratio[0]), YLabel: AxisLabel(2, ratio[1]),
                Colormap: c.Spec.Colormap.Replace("_r", "", StringComparison.Ordinal));
            var record = FigureRecord.Of(new ActivationPoint(series.Key, stack, -1), TrajectoryProjectionUnit.Kind, TrajectoryProjection.Measure);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi), Record: record));
        }
        return jobs;
    }

    private static string AxisLabel(int component, double ratio) => double.IsFinite(ratio)
        ? $"PC{component} ({(ratio * 100).ToString("0.0", CultureInfo.InvariantCulture)}% of variance)"
        : $"PC{component}";

    public static IReadOnlyList<string> Render(ProjectionSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats,
        int dpi = FigureFiles.DefaultDpi)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var plan = Plan(spec);
        return FigureCommon.WriteAll(pathWithoutExtension, formats, plan.Layout, plan.Title, (_, overlay) => Build(spec, plan, overlay),
            FigureCommon.Texts(plan.X, plan.Y).Concat(plan.Labels ?? []).Concat([spec.XLabel, spec.YLabel]), dpi);
    }

    /// <summary>Which tokens get a label: all up to <see cref="MaxLabels"/>, else every k-th.</summary>
    public static int LabelStride(int tokens) => tokens <= MaxLabels ? 1 : (tokens + MaxLabels - 1) / MaxLabels;

    private sealed record ProjectionPlan(FigureLayout Layout, string Title, double XMin, double XMax, double YMin, double YMax,
        FigureTicks X, FigureTicks Y, IColormap Colormap, string[]? Labels);

    private static ProjectionPlan Plan(ProjectionSpec spec)
    {
        var points = spec.Layers.Count;
        if (spec.Tokens <= 0 || points <= 0)
            throw new ArgumentException($"a projection chart needs tokens and layers (got {spec.Tokens}x{points})");
        if (spec.X.Length != spec.Tokens * points || spec.Y.Length != spec.X.Length)
            throw new ArgumentException($"projection holds {spec.X.Length}/{spec.Y.Length} points, not {spec.Tokens}x{points}");
        var (xMin, xMax) = FigureCommon.PaddedRange(spec.X.Select(v => (double)v), includeZero: false);
        var (yMin, yMax) = FigureCommon.PaddedRange(spec.Y.Select(v => (double)v), includeZero: false);
        var x = FigureCommon.NiceTicks(xMin, xMax, spec.PlotPixels);
        var y = FigureCommon.NiceTicks(yMin, yMax, spec.PlotPixels);
        var stride = LabelStride(spec.Tokens);
        var title = stride == 1 || spec.TokenLabels is null ? spec.Title : $"{spec.Title} (every {stride}th token labelled)";
        var layout = FigureCommon.Layout(spec.PlotPixels, spec.PlotPixels, x, y, title, spec.XLabel, spec.YLabel, FigureCommon.Outer);
        // The figures' token display rule (readable text, visible whitespace, cut with an ellipsis).
        var labels = spec.TokenLabels is null ? null : TokenLabels.Labels(spec.TokenLabels);
        return new ProjectionPlan(layout, title, xMin, xMax, yMin, yMax, x, y, Colormaps.Get(spec.Colormap), labels);
    }

    private static Plot Build(ProjectionSpec spec, ProjectionPlan plan, LabelOverlay overlay)
    {
        var plot = FigureCommon.NewPlot(plan.Layout, plan.Title, plan.X, plan.Y, spec.XLabel, spec.YLabel,
            plan.XMin, plan.XMax, plan.YMin, plan.YMax, FigureCommon.Outer, overlay);
        try
        {
            var points = spec.Layers.Count;
            var stride = LabelStride(spec.Tokens);
            for (var t = 0; t < spec.Tokens; t++)
            {
                var xs = new double[points];
                var ys = new double[points];
                for (var l = 0; l < points; l++)
                {
                    xs[l] = spec.X[t * points + l];
                    ys[l] = spec.Y[t * points + l];
                }
                // Stay clear of the palest end so every line shows on white.
                var color = plan.Colormap.GetColor(spec.Tokens == 1 ? 0.2 : 0.85 * t / (spec.Tokens - 1));
                var line = plot.Add.ScatterLine(xs, ys, color.WithAlpha(0.8));
                line.LineWidth = 1f;
                line.MarkerSize = 3;
                if (plan.Labels is not null && t % stride == 0)
                {
                    var label = plot.Add.Text(plan.Labels[t], xs[^1], ys[^1]);
                    label.LabelFontSize = 9;
                    label.LabelFontColor = color;
                    FigureFont.Apply(label.LabelStyle);
                    overlay.Take(label);
                }
            }
            plot.Legend.IsVisible = false;
            plot.Axes.SetLimits(plan.XMin, plan.XMax, plan.YMin, plan.YMax);
            return plot;
        }
        catch
        {
            plot.Dispose();
            throw;
        }
    }
}
