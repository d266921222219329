using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.Trajectory;

/// <summary>The <c>trajectory</c> figures (trajectory.parquet): one layer-line chart per hidden-state series and measure.</summary>
public static class TrajectoryFigures
{
    /// <summary>
    /// Y-axis label of each trajectory measure and the stored layer its first value is drawn at (0: the first, for
    /// cosine_final; 1: the second, for the steps into layer l and the turn at layer l).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (string YLabel, int FirstLayer)> Measures =
        new Dictionary<string, (string, int)>
        {
            ["step_length"] = ("step length |h(l) - h(l-1)|", 1),
            ["cosine_next"] = ("cosine(h(l-1), h(l))", 1),
            ["cosine_final"] = ("cosine(h(l), h(last))", 0),
            ["curvature"] = ("turning angle at layer l (rad)", 1),
        };

    /// <summary>
    /// One chart per (hidden-state series, measure) of trajectory.parquet (<see cref="LayerLines"/>), x = the layer a
    /// step reaches (the layer of the turn for curvature).
    /// </summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var (metadata, blocks) = MetricsStage.Sync(() => Tta.Store.VectorStoreReader.ReadAsync(parquet));
        var layersOf = LayerLines.LayersOf(metadata);
        var jobs = new List<FigureJob>();
        foreach (var b in blocks)
        {
            var measure = b.Key.Measure ?? "";
            var (yLabel, first) = Measures.TryGetValue(measure, out var m) ? m : (measure, 0);
            jobs.Add(LayerLines.Job(c, b, layersOf.GetValueOrDefault(b.Key.Point) ?? [], first,
                c.Title(b.Key.Stack, b.Key.Point, measure.Replace('_', ' ')), yLabel, FigureRecord.Of(b.Key, TrajectoryKind.Key, measure)));
        }
        return jobs;
    }
}
