using Tta.Explorer;
using Tta.Figures;

namespace Tta.Metrics.Projection;

/// <summary>The explorer's trajectory view: the PCA paths of projection.parquet.</summary>
public static class ProjectionView
{
    public static void Add(ExplorerSet set, string parquet)
    {
        var (paths, points) = ProjectionPath.Read(parquet);
        foreach (var path in paths.OrderBy(p => Depth.StackOrder(p.Stack)).ThenBy(p => p.Series, StringComparer.Ordinal))
        {
            var range = path.Layers.SelectMany(b => b.Values).Select(Math.Abs).DefaultIfEmpty(0).Max();
            set.Projection.Add(new ProjectionEntry(path.Series, path.Stack, [.. path.Layers.Select(b => b.Key.Layer)],
                [.. path.Layers.Select(b => LayerNames.OnTrajectory(points[b.Key with { Measure = null }]))],
                [.. (path.Ratio ?? []).Select(r => Math.Round(r, 4))],
                [.. path.X.Select(v => Round(v, range))], [.. path.Y.Select(v => Round(v, range))]));
        }
    }

    /// <summary>Five significant digits of the largest coordinate: far below a pixel, a third of the JSON.</summary>
    private static float Round(float v, float range)
    {
        if (!(range > 0) || !float.IsFinite(v)) return v;
        var step = Math.Pow(10, Math.Floor(Math.Log10(range)) - 4);
        return (float)(Math.Round(v / step) * step);
    }
}
