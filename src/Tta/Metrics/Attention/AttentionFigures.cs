using System.Text.Json;
using Tta.Store;
using Tta.Extract;
using Tta.Figures;

namespace Tta.Metrics.Attention;

/// <summary>
/// The <c>attention</c> figures (attention.parquet): per head, the paper's panels as heatmaps and the position bias
/// kernel as a bar chart. File stems follow <see cref="FiguresStage.FileStem"/> with the measure part
/// <c>attention-PANEL</c> (e.g. <c>attention-qk</c>).
/// </summary>
public static class AttentionFigures
{
    /// <summary>Attention heatmap panels in the paper's order, with the attention.parquet measure each one shows.</summary>
    public static readonly IReadOnlyList<(AttentionPanel Panel, string Measure)> Panels =
    [
        (AttentionPanel.QueryKey, "qk"),
        (AttentionPanel.PositionBias, "position_bias"),
        (AttentionPanel.Combined, "scores"),
        (AttentionPanel.Softmax, "probs"),
    ];

    public const string KernelSlug = "kernel";

    /// <summary>
    /// Per (attention module, block, head) of attention.parquet: the Q.Kᵀ, position bias, combined score and softmax
    /// heatmaps (those present: no Q.Kᵀ where it was not recovered; no bias panel and no kernel without a position bias
    /// or where it is zero everywhere) and the position bias kernel as a bar chart over relative key position j − r
    /// (r = the module's <c>tta.kernel_rows</c> entry). Masks are recognised by value for the model's dtype
    /// (<see cref="MaskedValues"/>).
    /// </summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var (metadata, blocks) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(parquet));
        var points = StoredPoints.Read(metadata, parquet);
        var kernelRows = metadata.TryGetValue(StoreKeys.KernelRows, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? []
            : [];
        var threshold = MaskedValues.Threshold(c.Dtype ?? StoreKeys.ComputeDTypeOf(metadata));
        var jobs = new List<FigureJob>();
        foreach (var group in blocks.GroupBy(b => b.Key with { Measure = null }))
        {
            var key = group.Key;
            var byMeasure = group.ToDictionary(b => b.Key.Measure ?? "", StringComparer.Ordinal);
            // A bias that is zero everywhere (T5 cross-attention, which has no relative bias) is no position bias.
            if (byMeasure.TryGetValue("position_bias", out var bias) && bias.Values.All(v => v == 0))
            {
                byMeasure.Remove("position_bias");
                byMeasure.Remove("kernel");
            }
            // Cross-attention: decoder queries over encoder keys.
            var cross = points[key with { Head = null }].Cross;
            var where = new[] { LayerNames.AttentionModule(key), key.Head is { } h ? $"head {h}" : null };
            foreach (var (panel, measure) in Panels)
            {
                if (!byMeasure.TryGetValue(measure, out var b)) continue;
                var spec = PaperFigures.Attention(panel, b.Values, b.Positions, b.Dim,
                    c.Labels(key.Stack, b.Positions), c.Labels(cross ? "encoder" : key.Stack, b.Dim), c.Spec.Colormap, c.Spec.CellPixels)
                    with { Title = c.Title([.. where, PaperFigures.Title(panel)]), MaskThreshold = threshold };
                var record = FigureRecord.Of(key, AttentionKind.Key, PaperFigures.Slug(panel));
                var stem = record.KindStem();
                jobs.Add(new FigureJob(stem, () => HeatmapFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi, c.Thumbnails), spec, record));
            }
            if (byMeasure.TryGetValue("kernel", out var kernel))
            {
                if (!kernelRows.TryGetValue(key.Point, out var row))
                    throw new InvalidDataException($"{parquet}: kernel of {key.Point} but no query row for it in tta.kernel_rows");
                var relative = Enumerable.Range(0, kernel.Values.Length).Select(j => j - row).ToArray();
                var spec = PaperFigures.Kernel(kernel.Values, relative) with { Title = c.Title([.. where, PaperFigures.KernelTitle]) };
                var record = FigureRecord.Of(key, AttentionKind.Key, KernelSlug);
                var stem = record.KindStem();
                jobs.Add(new FigureJob(stem, () => BarChartFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi, c.Thumbnails), Record: record));
            }
        }
        return jobs;
    }
}
