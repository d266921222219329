using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Tta.Config;
using Tta.Metrics;
using Tta.Store;

namespace Tta.Figures;

/// <summary>
/// Figures of the optional metrics (files written by the Metrics stage, see <see cref="Metrics.MetricsStage"/>):
/// attention panels and kernel, trajectory line charts and nearest-token grids. File stems follow
/// <see cref="FiguresStage.FileStem"/> with the measure part <c>KIND-WHAT</c> (e.g. <c>attention-qk</c>,
/// <c>trajectory-curvature</c>, <c>nearest-ip</c>).
/// </summary>
public static class MetricFigures
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
    public static List<FigureJob> Attention(FigureContext c, string parquet)
    {
        var (metadata, blocks) = Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var kernelRows = metadata.TryGetValue(StoreKeys.KernelRows, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? []
            : [];
        var threshold = MaskedValues.Threshold(c.Dtype ?? metadata.GetValueOrDefault(StoreKeys.DType));
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
                jobs.Add(new FigureJob(stem, () => HeatmapFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi), spec, record));
            }
            if (byMeasure.TryGetValue("kernel", out var kernel))
            {
                if (!kernelRows.TryGetValue(key.Point, out var row))
                    throw new InvalidDataException($"{parquet}: kernel of {key.Point} but no query row for it in tta.kernel_rows");
                var relative = Enumerable.Range(0, kernel.Values.Length).Select(j => j - row).ToArray();
                var spec = PaperFigures.Kernel(kernel.Values, relative) with { Title = c.Title([.. where, PaperFigures.KernelTitle]) };
                var record = FigureRecord.Of(key, AttentionKind.Key, KernelSlug);
                var stem = record.KindStem();
                jobs.Add(new FigureJob(stem, () => BarChartFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi), Record: record));
            }
        }
        return jobs;
    }

    /// <summary>
    /// The module part of a capture point after its block number: <c>encoder.block.0.layer.0.SelfAttention</c> →
    /// <c>layer.0.SelfAttention</c>, <c>encoder.layer.0.attention.self</c> → <c>attention.self</c>.
    /// </summary>
    public static string ModuleName(ActivationPoint key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var marker = "." + key.Layer.ToString(CultureInfo.InvariantCulture) + ".";
        var at = key.Layer >= 0 ? key.Point.IndexOf(marker, StringComparison.Ordinal) : -1;
        return at >= 0 ? key.Point[(at + marker.Length)..] : key.Point;
    }

    /// <summary>
    /// Y-axis label of each trajectory measure and the stored layer its first value is drawn at (0: the first, for
    /// cosine_final; 1: the second, for the steps into layer l and the turn at layer l).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (string YLabel, int FirstLayer)> TrajectoryMeasures =
        new Dictionary<string, (string, int)>
        {
            ["step_length"] = ("step length |h(l) - h(l-1)|", 1),
            ["cosine_next"] = ("cosine(h(l-1), h(l))", 1),
            ["cosine_final"] = ("cosine(h(l), h(last))", 0),
            ["curvature"] = ("turning angle at layer l (rad)", 1),
        };

    /// <summary>
    /// One line chart per (hidden-state series, measure) of trajectory.parquet, x = layer (the layer a step reaches;
    /// the layer of the turn for curvature): one line per token with token labels in the legend for at most
    /// <see cref="LineFigure.MaxLegendEntries"/> tokens, else the mean ± one standard deviation over tokens.
    /// </summary>
    public static List<FigureJob> Trajectory(FigureContext c, string parquet)
    {
        var (metadata, blocks) = Read(parquet);
        var layersOf = metadata.TryGetValue(StoreKeys.Layers, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, int[]>>(json) ?? []
            : [];
        var jobs = new List<FigureJob>();
        foreach (var b in blocks)
        {
            var measure = b.Key.Measure ?? "";
            var (yLabel, first) = TrajectoryMeasures.TryGetValue(measure, out var m) ? m : (measure, 0);
            var layers = layersOf.GetValueOrDefault(b.Key.Point) ?? [];
            var consecutive = first + b.Dim <= layers.Length && layers.Zip(layers.Skip(1)).All(p => p.Second == p.First + 1);
            var (firstX, xLabel) = consecutive
                ? (layers[first], "Layer")
                : (first, layers.Length > 0 ? $"Stored layer index (layers {string.Join(", ", layers)})" : "Stored layer index");
            var tokens = c.Labels(b.Key.Stack, b.Positions) is { } raw ? TokenLabels.Labels(raw) : null;
            var perToken = b.Positions <= LineFigure.MaxLegendEntries;
            var labels = perToken
                ? Enumerable.Range(0, b.Positions).Select(i => tokens is null ? $"{i}" : $"{i} {tokens[i]}").ToArray()
                : null;
            var spec = new LineChartSpec(b.Values, b.Positions, b.Dim, labels,
                Title: c.Title(b.Key.Stack, b.Key.Point, measure.Replace('_', ' ')),
                XLabel: xLabel, YLabel: yLabel,
                Mode: perToken ? LineMode.PerSeries : LineMode.MeanBand,
                // Lines take colours in series order; the unreversed map keeps the first ones dark on white.
                Colormap: c.Spec.Colormap.Replace("_r", "", StringComparison.Ordinal), FirstX: firstX);
            var record = FigureRecord.Of(b.Key, TrajectoryKind.Key, measure);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => LineFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi), Record: record));
        }
        return jobs;
    }

    public static string NearestMeasureLabel(string measure) => measure switch
    {
        "ip" => "inner product",
        "l2" => "squared L2 distance",
        _ => measure,
    };

    /// <summary>
    /// One token grid per (hidden-state series, measure) of nearest.parquet: rows = layers (from the first to the last
    /// stored one; a layer that is not stored is a grey row), columns = positions, cell = the rank-1 vocabulary token
    /// (its id as <c>#id</c> where the file has no string), colour = its score.
    /// </summary>
    public static List<FigureJob> Nearest(FigureContext c, string parquet)
    {
        var (metadata, stored) = NearestRows.Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var rows = stored.Where(r => r.Rank == 0);
        var jobs = new List<FigureJob>();
        var series = rows.GroupBy(r => (Series: points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path, r.Stack, r.Measure))
            .OrderBy(g => g.Key.Stack, StringComparer.Ordinal).ThenBy(g => g.Key.Series, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Measure, StringComparer.Ordinal);
        foreach (var g in series)
        {
            var all = g.ToList();
            var (low, high) = (all.Min(r => r.Layer), all.Max(r => r.Layer));
            var cols = all.Max(r => r.Position) + 1;
            var height = high - low + 1;
            var labels = new string[height * cols];
            Array.Fill(labels, "");
            var scores = new float[height * cols];
            Array.Fill(scores, float.NaN);
            foreach (var r in all)
            {
                var i = (r.Layer - low) * cols + r.Position;
                labels[i] = r.Token ?? "#" + r.TokenId.ToString(CultureInfo.InvariantCulture);
                scores[i] = (float)r.Score;
            }
            var measureLabel = NearestMeasureLabel(g.Key.Measure);
            var spec = new TokenGridSpec(labels, scores, height, cols,
                Title: c.Title(g.Key.Stack, g.Key.Series, $"nearest token ({measureLabel})"),
                ColumnTokens: c.Labels(g.Key.Stack, cols), ColorbarLabel: measureLabel, Colormap: c.Spec.Colormap, FirstRow: low);
            var record = FigureRecord.Of(new ActivationPoint(g.Key.Series, g.Key.Stack, -1), NearestKind.Key, g.Key.Measure);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => TokenGridFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi), Record: record));
        }
        return jobs;
    }

    private static (IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<VectorBlock> Blocks) Read(string path) =>
        Task.Run(() => VectorStoreReader.ReadAsync(path)).GetAwaiter().GetResult();
}
