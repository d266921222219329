using System.Text.Json;
using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.Cka;

/// <summary>
/// The CKA figures: per unit, a heatmap of A's layers (rows) against B's (columns), CKA in [0, 1]; for a pair that
/// tokenizes alike, the difference maps of its similarity maps (<see cref="DifferenceMaps"/>).
/// </summary>
public static class CkaFigures
{
    /// <summary>The smallest cell, so a map of a few layers stays legible.</summary>
    public const int MinCellPixels = 28;

    /// <summary>A CKA file: the two models, their layers, the matrix (rows A, columns B) and how rows were paired.</summary>
    public sealed record Map(string ModelA, string ModelB, int[] LayersA, int[] LayersB, float[] Values, string Series, string Pairing, string Rule, long Rows);

    public static async Task<Map> ReadAsync(string parquet)
    {
        var (metadata, blocks) = await VectorStoreReader.ReadAsync(parquet);
        var models = JsonSerializer.Deserialize<string[]>(metadata[StoreKeys.Models]) ?? [];
        var layers = JsonSerializer.Deserialize<Dictionary<string, int[]>>(metadata[StoreKeys.Layers]) ?? [];
        var alignment = JsonSerializer.Deserialize<JsonElement>(metadata[StoreKeys.Alignment]);
        var block = blocks.Single();
        return new Map(models[0], models.Length > 1 ? models[1] : models[0], layers["a"], layers["b"], block.Values, block.Key.Point,
            alignment.GetProperty("pairing").GetString() ?? "", alignment.GetProperty("rule").GetString() ?? "", alignment.GetProperty("rows").GetInt64());
    }

    public static IReadOnlyList<FigureJob> Render(FigureContext context, IReadOnlyList<StudyUnit> units)
    {
        var jobs = new List<FigureJob>();
        foreach (var unit in units)
        {
            var map = MetricsStage.Sync(() => ReadAsync(unit.OutputPath));
            var pair = map.ModelA == map.ModelB ? map.ModelA : $"{map.ModelA} × {map.ModelB}";
            var spec = new HeatmapSpec(map.Values, map.LayersA.Length, map.LayersB.Length,
                Title: context.Title($"linear CKA · {pair} · {map.Rows} {map.Pairing}"),
                XLabel: $"{map.ModelB} layer", YLabel: $"{map.ModelA} layer",
                XTicks: [.. map.LayersB.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))],
                YTicks: [.. map.LayersA.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))],
                Colormap: context.Spec.Colormap, CellPixels: Math.Max(MinCellPixels, context.Spec.CellPixels), ColorbarLabel: "linear CKA");
            var record = new FigureRecord(CkaKind.Key, "corpus", pair, -1, null, unit.Stem);
            jobs.Add(new FigureJob(unit.Stem, () => HeatmapFigure.Render(spec, context.Path(unit.Stem), context.Spec.Formats, context.Spec.Dpi, context.Thumbnails),
                Heatmap: spec, Record: record));
            jobs.AddRange(DifferenceMaps.Render(context, (CkaUnit)unit, map));
        }
        return jobs;
    }
}
