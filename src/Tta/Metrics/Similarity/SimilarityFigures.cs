using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.Similarity;

/// <summary>Similarity heatmaps: one per (point, measure) of similarity.parquet.</summary>
public static class SimilarityFigures
{
    /// <summary>One heatmap per (point, measure) of similarity.parquet; the maps are read first, then drawn in parallel.</summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var f = c.Spec;
        var jobs = new List<FigureJob>();
        using var store = VectorStoreReader.Open(parquet);
        var points = store.Points;
        Task.Run(() => store.ForEachBlockAsync(block =>
        {
            var key = block.Key;
            var labels = c.Labels(key.Stack, block.Positions); // decoder rows see the text shifted right
            var measure = key.Measure == "cosine" ? "cosine similarity" : "dot product";
            // The explorer labels this map with the same words (LayerNames.Map).
            var spec = new HeatmapSpec(block.Values, block.Positions, block.Positions,
                Title: c.Title(LayerNames.Map(points[key with { Measure = null }]), measure),
                XLabel: "Token Position", YLabel: "Token Position", XTicks: labels, YTicks: labels,
                Colormap: f.Colormap, CellPixels: f.CellPixels, ColorbarLabel: measure);
            var stem = FiguresStage.FileStem(key);
            jobs.Add(new FigureJob(stem, () => HeatmapFigure.Render(spec, c.Path(stem), f.Formats, f.Dpi, c.Thumbnails), spec,
                FigureRecord.Of(key with { Measure = null }, SimilarityKind.Key, key.Measure ?? "")));
            return Task.CompletedTask;
        })).GetAwaiter().GetResult();
        return jobs;
    }
}
