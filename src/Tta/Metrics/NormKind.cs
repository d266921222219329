using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics;

/// <summary>
/// <c>metrics.norm: true</c>: the L2 norm of every token's hidden state at every layer (<see cref="NormMetricsUnit"/>),
/// drawn per series as a line chart of norm against layer: one line per token up to
/// <see cref="LineFigure.MaxLegendEntries"/> tokens, else mean ± sd.
/// </summary>
public sealed class NormKind : SwitchMetricKind
{
    public const string Key = "norm";

    public override string Name => Key;
    public override string Description => "hidden-state norms";

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new NormMetricsUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet)
    {
        var (metadata, blocks) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(parquet));
        var layersOf = JsonSerializer.Deserialize<Dictionary<string, int[]>>(metadata[StoreKeys.Layers]) ?? [];
        var jobs = new List<FigureJob>();
        foreach (var b in blocks)
        {
            var layers = layersOf.GetValueOrDefault(b.Key.Point) ?? [];
            var consecutive = layers.Length == b.Dim && layers.Zip(layers.Skip(1)).All(p => p.Second == p.First + 1);
            var tokens = context.Labels(b.Key.Stack, b.Positions) is { } raw ? TokenLabels.Labels(raw) : null;
            var perToken = b.Positions <= LineFigure.MaxLegendEntries;
            var spec = new LineChartSpec(b.Values, b.Positions, b.Dim,
                perToken ? [.. Enumerable.Range(0, b.Positions).Select(i => tokens is null ? $"{i}" : $"{i} {tokens[i]}")] : null,
                Title: context.Title(b.Key.Stack, b.Key.Point, "L2 norm of the hidden state"),
                XLabel: consecutive ? "Layer" : $"Stored layer index (layers {string.Join(", ", layers)})", YLabel: "‖h‖₂",
                Mode: perToken ? LineMode.PerSeries : LineMode.MeanBand,
                Colormap: context.Spec.Colormap.Replace("_r", "", StringComparison.Ordinal), FirstX: consecutive && layers.Length > 0 ? layers[0] : 0);
            var record = FigureRecord.Of(b.Key with { Measure = null }, Key, b.Key.Measure ?? NormMetricsUnit.Measure);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => LineFigure.Render(spec, context.Path(stem), context.Spec.Formats, context.Spec.Dpi), Record: record));
        }
        return jobs;
    }

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) =>
        new("hidden-state norm", $"{figure.Stack} · {figure.Point} · L2 norm", Depth: Depth.OfBlock(figure.Layer));
}
