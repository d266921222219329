using System.Text.Json;
using Tta.Store;
using Tta.Extract;

namespace Tta.Figures;

/// <summary>
/// The layer-line chart that the per-token metrics share (trajectory measures, hidden-state norms): one chart per
/// block whose rows are tokens and whose values run along stored layers, x = layer. One line per token with token
/// labels in the legend for at most <see cref="LineFigure.MaxLegendEntries"/> tokens, else the mean ± one standard
/// deviation over tokens.
/// </summary>
public static class LayerLines
{
    /// <summary>The stored layers each series' values run along (metadata <c>tta.layers</c>: series → layer numbers).</summary>
    public static Dictionary<string, int[]> LayersOf(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(StoreKeys.Layers, out var json) ? JsonSerializer.Deserialize<Dictionary<string, int[]>>(json) ?? [] : [];

    /// <summary>
    /// The chart of block <paramref name="b"/>, whose first value belongs to <c>layers[first]</c>: x is the layer
    /// number when the stored layers are consecutive, else the stored layer index (the title's axis says which).
    /// </summary>
    public static FigureJob Job(FigureContext c, VectorBlock b, IReadOnlyList<int> layers, int first, string title, string yLabel, FigureRecord record)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(record);
        var consecutive = first + b.Dim <= layers.Count && layers.Zip(layers.Skip(1)).All(p => p.Second == p.First + 1);
        var (firstX, xLabel) = consecutive
            ? (layers[first], "Layer")
            : (first, layers.Count > 0 ? $"Stored layer index (layers {string.Join(", ", layers)})" : "Stored layer index");
        var tokens = c.Labels(b.Key.Stack, b.Positions) is { } raw ? TokenLabels.Labels(raw) : null;
        var perToken = b.Positions <= LineFigure.MaxLegendEntries;
        var labels = perToken
            ? Enumerable.Range(0, b.Positions).Select(i => tokens is null ? $"{i}" : $"{i} {tokens[i]}").ToArray()
            : null;
        var spec = new LineChartSpec(b.Values, b.Positions, b.Dim, labels, Title: title, XLabel: xLabel, YLabel: yLabel,
            Mode: perToken ? LineMode.PerSeries : LineMode.MeanBand,
            // Lines take colours in series order; the unreversed map keeps the first ones dark on white.
            Colormap: c.Spec.Colormap.Replace("_r", "", StringComparison.Ordinal), FirstX: firstX);
        var stem = record.KindStem();
        return new FigureJob(stem, () => LineFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi, c.Thumbnails), Record: record);
    }
}
