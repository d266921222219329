using Tta.Explorer;
using Tta.Store;
using Tta.Extract;
using Tta.Figures;

namespace Tta.Metrics.Similarity;

/// <summary>The explorer's layer-slider maps of similarity.parquet.</summary>
public static class SimilarityView
{
    /// <summary>
    /// Adds every map of <paramref name="parquet"/> (one block at a time), ordered by measure (as configured), stack
    /// and depth; records the file's metadata and each capture point's label and depth on <paramref name="set"/>.
    /// </summary>
    public static void Add(ExplorerSet set, string parquet)
    {
        var blocks = new List<(ActivationPoint Key, int Map)>();
        var metadata = MetricsStage.Sync(() => VectorStoreReader.ForEachBlockAsync(parquet, block =>
        {
            blocks.Add((block.Key, set.Add(QuantizedMap.From(block.Values, block.Positions, block.Dim, maskThreshold: null))));
            return Task.CompletedTask;
        }));
        var points = StoredPoints.Read(metadata, parquet);
        var recorded = blocks.Select(b => points[b.Key with { Measure = null }]).ToList();
        // The file holds the points in the order the model recorded them: what a stack records before its first
        // block (its embeddings) comes first.
        var firstBlock = recorded.Select((p, i) => (p, i)).Where(x => x.p.Layer >= 0).GroupBy(x => x.p.Stack)
            .ToDictionary(g => g.Key, g => g.Min(x => x.i));
        set.Points.Clear();
        for (var i = 0; i < recorded.Count; i++)
            set.Points.TryAdd((recorded[i].Stack, recorded[i].Name),
                (LayerNames.Map(recorded[i]), Depth.Within(recorded[i], i < firstBlock.GetValueOrDefault(recorded[i].Stack, int.MaxValue))));
        var measures = set.Experiment.Metrics.Get<IReadOnlyList<string>>(SimilarityKind.Key) ?? [];
        set.Similarity.AddRange(blocks.Zip(recorded, (b, p) => (b.Map, Point: p, Measure: b.Key.Measure ?? ""))
            .OrderBy(b => Math.Max(0, measures.ToList().IndexOf(b.Measure))).ThenBy(b => Depth.StackOrder(b.Point.Stack))
            .ThenBy(b => set.Points[(b.Point.Stack, b.Point.Name)].Depth).ThenBy(b => b.Point.Name, StringComparer.Ordinal)
            .Select(b => new SimilarityEntry(b.Point.Stack, b.Point.Name, b.Point.Layer, LayerNames.Map(b.Point), b.Measure, b.Map)));
        set.Metadata = metadata;
    }
}
