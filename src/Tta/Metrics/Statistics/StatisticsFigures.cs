using System.Text.Json;
using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.Statistics;

/// <summary>
/// The statistics' figures: one chart per statistic, one line per model (and hidden-state series) over relative
/// depth 0…1 (hidden state N of a model with L blocks at N / L), so models of different depths share the axis.
/// </summary>
public static class StatisticsFigures
{
    /// <summary>The statistics drawn, in order (the file also counts tokens and word types).</summary>
    public static readonly IReadOnlyList<string> Drawn = ["anisotropy", "intra_text_similarity", "self_similarity", "mean_norm", "effective_dimensionality"];

    /// <summary>A statistic's name (titles, legends, captions).</summary>
    public static string Label(string measure) => measure.Replace('_', ' ').Replace("intra text", "intra-text", StringComparison.Ordinal).Replace("self similarity", "self-similarity", StringComparison.Ordinal);

    /// <summary>What a statistic's axis measures.</summary>
    public static string AxisLabel(string measure) => measure switch
    {
        "anisotropy" => "mean cosine across texts",
        "intra_text_similarity" => "mean cosine within a text",
        "self_similarity" => "mean cosine of a word's occurrences",
        "mean_norm" => "mean L2 norm",
        "effective_dimensionality" => "participation ratio of the covariance",
        _ => Label(measure),
    };

    /// <summary>One model's series of one statistics file: its label, relative depths and every measure's values.</summary>
    public sealed record Line(string Model, string Series, string Stack, int[] Layers, double[] Depth, IReadOnlyDictionary<string, float[]> Values)
    {
        public string Label(bool withSeries) => withSeries ? $"{Model} · {Series.Replace("_hidden_states", "", StringComparison.Ordinal)}" : Model;
    }

    /// <summary>The lines of a statistics file.</summary>
    public static async Task<IReadOnlyList<Line>> ReadAsync(string parquet)
    {
        var lines = new Dictionary<string, (string Stack, Dictionary<string, float[]> Values)>(StringComparer.Ordinal);
        var metadata = await VectorStoreReader.ForEachBlockAsync(parquet, block =>
        {
            if (!lines.TryGetValue(block.Key.Point, out var line)) lines[block.Key.Point] = line = (block.Key.Stack, new Dictionary<string, float[]>(StringComparer.Ordinal));
            line.Values[block.Key.Measure!] = block.Values;
            return Task.CompletedTask;
        });
        var layers = LayerLines.LayersOf(metadata);
        var depth = JsonSerializer.Deserialize<Dictionary<string, int>>(metadata[StoreKeys.DepthLayers]) ?? [];
        var model = metadata[StoreKeys.ModelKey];
        return [.. lines.Select(kv => new Line(model, kv.Key, kv.Value.Stack, layers[kv.Key],
            [.. layers[kv.Key].Select(l => (double)l / Math.Max(1, depth[kv.Key]))], kv.Value.Values))];
    }

    public static IReadOnlyList<FigureJob> Render(FigureContext context, IReadOnlyList<StudyUnit> units)
    {
        var lines = units.SelectMany(u => MetricsStage.Sync(() => ReadAsync(u.OutputPath))).ToList();
        if (lines.Count == 0) return [];
        var withSeries = lines.Select(l => l.Series).Distinct().Count() > 1;
        var points = lines.Max(l => l.Layers.Length);
        var jobs = new List<FigureJob>();
        foreach (var measure in Drawn)
        {
            var values = new float[lines.Count * points];
            Array.Fill(values, float.NaN);
            var xs = new List<double[]>();
            for (var s = 0; s < lines.Count; s++)
            {
                lines[s].Values[measure].CopyTo(values, s * points);
                var x = new double[points];
                Array.Fill(x, double.NaN);
                lines[s].Depth.CopyTo(x, 0);
                xs.Add(x);
            }
            var spec = new LineChartSpec(values, lines.Count, points, [.. lines.Select(l => l.Label(withSeries))], PointPixels: Math.Max(32, 560 / points),
                Title: context.Title(Label(measure)), XLabel: "Relative depth (hidden state / blocks)", YLabel: AxisLabel(measure),
                Colormap: context.Spec.Colormap.Replace("_r", "", StringComparison.Ordinal), SeriesX: xs);
            var record = new FigureRecord(StatisticsKind.Key, "corpus", "hidden states", -1, null, measure);
            var stem = $"{StatisticsKind.Key}-{measure.Replace('_', '-')}";
            jobs.Add(new FigureJob(stem, () => LineFigure.Render(spec, context.Path(stem), context.Spec.Formats, context.Spec.Dpi, context.Thumbnails), Record: record));
        }
        return jobs;
    }
}
