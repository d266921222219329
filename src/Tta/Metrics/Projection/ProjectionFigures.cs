using Tta.Extract;
using Tta.Store;
using Tta.Figures;

namespace Tta.Metrics.Projection;

/// <summary>
/// The <c>projection</c> figures (projection.parquet, <see cref="TrajectoryProjectionUnit"/>): one
/// <see cref="ProjectionFigure"/> chart per hidden-state series, its axes the series' first two principal components.
/// </summary>
public static class ProjectionFigures
{
    /// <summary>Charts for every series of a projection.parquet, named <c>STACK-SERIES-projection-pca.*</c>.</summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var jobs = new List<FigureJob>();
        foreach (var path in ProjectionPath.Read(parquet).Paths.OrderBy(p => p.Series, StringComparer.Ordinal))
        {
            var ratio = path.Ratio ?? [double.NaN, double.NaN];
            var spec = new ProjectionSpec(path.X, path.Y, path.Tokens, [.. path.Layers.Select(b => b.Key.Layer)], c.Labels(path.Stack, path.Tokens),
                Title: c.Title(path.Stack, path.Series, "trajectories, PCA over all layers"),
                XLabel: ProjectionFigure.AxisLabel(1, ratio[0]), YLabel: ProjectionFigure.AxisLabel(2, ratio[1]),
                Colormap: c.Spec.Colormap.Replace("_r", "", StringComparison.Ordinal));
            var record = FigureRecord.Of(new ActivationPoint(path.Series, path.Stack, -1), TrajectoryProjectionUnit.Kind, TrajectoryProjection.Measure);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => ProjectionFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi, c.Thumbnails), Record: record));
        }
        return jobs;
    }
}
