using System.Text.Json;
using Tta.Store;
using Tta.Extract;

namespace Tta.Metrics.Projection;

/// <summary>
/// One hidden-state series of projection.parquet: its layers in order and every token's path through them,
/// <see cref="X"/> and <see cref="Y"/> row-major [tokens, layers]; <see cref="Ratio"/>: the explained variance of
/// the two components, null when the file does not record it.
/// </summary>
public sealed record ProjectionPath(string Series, string Stack, IReadOnlyList<VectorBlock> Layers, int Tokens, float[] X, float[] Y, double[]? Ratio)
{
    /// <summary>The series of <paramref name="parquet"/>, in no particular order, and the points the file records.</summary>
    public static (List<ProjectionPath> Paths, StoredPoints Points) Read(string parquet)
    {
        var (metadata, blocks) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(parquet));
        var info = metadata.TryGetValue(StoreKeys.Projection, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, TrajectoryProjectionUnit.ProjectionInfo>>(json) ?? []
            : [];
        var points = StoredPoints.Read(metadata, parquet);
        var paths = new List<ProjectionPath>();
        foreach (var series in blocks.GroupBy(b => points.HiddenStateSeries(b.Key) ?? b.Key.Point))
        {
            var layers = series.OrderBy(b => b.Key.Layer).ToList();
            var (tokens, count) = (layers[0].Positions, layers.Count);
            var x = new float[tokens * count];
            var y = new float[tokens * count];
            for (var l = 0; l < count; l++)
                for (var t = 0; t < tokens; t++)
                {
                    x[t * count + l] = layers[l].Values[t * 2];
                    y[t * count + l] = layers[l].Values[t * 2 + 1];
                }
            paths.Add(new ProjectionPath(series.Key, layers[0].Key.Stack, layers, tokens, x, y,
                info.TryGetValue(series.Key, out var i) ? i.ExplainedVarianceRatio : null));
        }
        return (paths, points);
    }
}
