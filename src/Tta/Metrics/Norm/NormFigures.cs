using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.Norm;

/// <summary>
/// The <c>norm</c> figures (norm.parquet): per hidden-state series, a layer-line chart of ‖h‖₂ against layer
/// (<see cref="LayerLines"/>).
/// </summary>
public static class NormFigures
{
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var (metadata, blocks) = MetricsStage.Sync(() => Tta.Store.VectorStoreReader.ReadAsync(parquet));
        var layersOf = LayerLines.LayersOf(metadata);
        return [.. blocks.Select(b => LayerLines.Job(c, b, layersOf.GetValueOrDefault(b.Key.Point) ?? [], 0,
            c.Title(b.Key.Stack, b.Key.Point, "L2 norm of the hidden state"), "‖h‖₂",
            FigureRecord.Of(b.Key with { Measure = null }, NormKind.Key, b.Key.Measure ?? NormMetricsUnit.Measure)))];
    }
}
