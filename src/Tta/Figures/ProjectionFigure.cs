using System.Globalization;
using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// The trajectory-projection chart (the <c>projection</c> kind draws one per hidden-state series): each token a
/// polyline through its points in a 2-D plane, coloured by position along the colormap. Tokens are labelled at their
/// last layer; above <see cref="MaxLabels"/> tokens a regular subset is labelled and the title says which.
/// </summary>
public static class ProjectionFigure
{
    public const int MaxLabels = 64;

    /// <summary>The axis label of principal component <paramref name="component"/> with its share of the variance (if known).</summary>
    public static string AxisLabel(int component, double ratio) => double.IsFinite(ratio)
        ? $"PC{component} ({(ratio * 100).ToString("0.0", CultureInfo.InvariantCulture)}% of variance)"
        : $"PC{component}";

    public static IReadOnlyList<string> Render(ProjectionSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats,
        int dpi = FigureFiles.DefaultDpi, bool thumbnails = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var plan = Plan(spec);
        return FigureCommon.WriteAll(pathWithoutExtension, formats, plan.Layout, plan.Title, (_, overlay) => Build(spec, plan, overlay),
            FigureCommon.Texts(plan.X, plan.Y).Concat(plan.Labels ?? []).Concat([spec.XLabel, spec.YLabel]), dpi, thumbnails);
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
        return FigureCommon.Drawn(FigureCommon.NewPlot(plan.Layout, plan.Title, plan.X, plan.Y, spec.XLabel, spec.YLabel,
            plan.XMin, plan.XMax, plan.YMin, plan.YMax, FigureCommon.Outer, overlay), plot =>
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
                    FigureFont.Apply(label.LabelStyle, overlay.FontName);
                    overlay.Take(label);
                }
            }
            plot.Legend.IsVisible = false;
            plot.Axes.SetLimits(plan.XMin, plan.XMax, plan.YMin, plan.YMax);
        });
    }
}
