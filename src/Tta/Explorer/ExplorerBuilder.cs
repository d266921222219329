using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics;
using Tta.Models;
using Tta.Store;

namespace Tta.Explorer;

/// <summary>
/// Reads what the explorer page of one experiment shows — the metrics files of every model × text (one block at a
/// time), the figure units' files, the unit manifests — and returns the page data with the quantised maps.
/// </summary>
public sealed class ExplorerBuilder(Workspace ws, Experiment experiment)
{
    /// <summary>How many nearest tokens the hover shows at most.</summary>
    public const int MaxNearest = 5;

    private readonly List<QuantizedMap> maps = [];
    private readonly Dictionary<(string Stack, string Point), double> similarityDepths = [];

    public string PageDir => Path.Combine(ws.FiguresDir, experiment.Name);

    public IReadOnlyList<QuantizedMap> Maps => maps;

    /// <summary>The experiment file's text (relative paths are taken from the workspace root, as in an archive).</summary>
    public static string ExperimentText(Workspace ws, Experiment e) =>
        File.ReadAllText(Path.IsPathRooted(e.SourcePath) ? e.SourcePath : ws.Absolute(e.SourcePath));

    /// <summary>The metric units whose files the page embeds for one model × text: those of the kinds with an explorer view.</summary>
    public static IEnumerable<(IMetricKind Kind, MetricsUnitBase Unit)> MetricUnits(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        MetricKinds.Configured(e).Where(k => k.Explore(ExplorerSet.Probe, "")).Select(k => (k, k.Unit(ws, e, m, t)));

    /// <summary>The run's units below the explorer (Extract, Metrics, Figures) as the run manifest records them.</summary>
    public static List<PageUnit> RunUnits(Workspace ws, Experiment e)
    {
        var context = new RunContext(ws, [e], TextWriter.Null);
        var units = new List<PageUnit>();
        foreach (var stage in new[] { ExtractStage.Name, MetricsStage.Name, FiguresStage.Name })
            foreach (var unit in Pipeline.Units(stage, context).Where(u => u is not ExplorerUnit))
            {
                var manifest = StageRunner.Upstream(unit.ManifestPath, $"{stage} {unit.Key}");
                units.Add(new PageUnit(stage, unit.Key, manifest.Fingerprint, manifest.Outputs.Count));
            }
        return units;
    }

    public PageData Build()
    {
        var sets = new List<PageSet>();
        var resolved = new Dictionary<string, (string? Sha, string DType)>(StringComparer.Ordinal);
        foreach (var m in experiment.Models)
            foreach (var t in experiment.Texts)
            {
                var set = BuildSet(m, t, out var metadata);
                sets.Add(set);
                resolved.TryAdd(m.Key, (metadata.GetValueOrDefault(StoreKeys.RevisionSha), metadata.GetValueOrDefault(StoreKeys.DType) ?? m.DType));
            }
        return new PageData(
            Title: $"tta explorer · {experiment.Name}",
            Experiment: experiment.Name,
            Colormap: ColormapLut(experiment.Figures.Colormap),
            MaskedColor: MaskedColor(experiment.Figures.Colormap),
            MissingColor: MaskedColor(experiment.Figures.Colormap), // NaN as the static figures draw it (the hover tells which)
            DecoderStart: FigureContext.DecoderStart,
            Models: [.. experiment.Models.Select(m => new PageModel(m.Key, m.Id, m.Source, m.Revision, resolved[m.Key].Sha, resolved[m.Key].DType))],
            Texts: [.. experiment.Texts.Select(t => t.Key)],
            Sets: sets,
            Maps: [.. maps.Select(q => new PageMap(q.Rows, q.Cols, q.Symmetric, q.Min, q.Scale, q.MaskedCells))],
            Yaml: ExperimentText(ws, experiment),
            Run: RunUnits(ws, experiment));
    }

    /// <summary>A colormap as the static figures' 256-entry table (<see cref="ColorScale"/>), <c>#rrggbb</c>, low to high.</summary>
    public static IReadOnlyList<string> ColormapLut(string name) =>
        [.. ColorScale.For([0f], Colormaps.Get(name)).Lut.Select(c => $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}")];

    /// <summary>The static figures' masked colour for the colormap (<see cref="ColorScale.Masked"/>).</summary>
    public static string MaskedColor(string colormap)
    {
        var c = ColorScale.For([0f], Colormaps.Get(colormap)).Masked;
        return $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}";
    }

    private PageSet BuildSet(ModelSpec m, TextSpec t, out IReadOnlyDictionary<string, string> metadata)
    {
        var set = new ExplorerSet(this);
        foreach (var (kind, unit) in MetricUnits(ws, experiment, m, t))
        {
            StageRunner.Upstream(unit.ManifestPath, $"{kind.Name} metrics of {experiment.Name}/{m.Key}/{t.Key} (stage Metrics)");
            kind.Explore(set, unit.OutputPath);
        }
        metadata = set.Metadata ?? throw new InvalidOperationException($"no similarity maps for {experiment.Name}/{m.Key}/{t.Key}");
        var figures = Figures(m, t, set.Similarity, similarityDepths);
        // The figures' display rule (readable text, visible whitespace), never cut: the page has room on hover.
        return new PageSet(m.Key, t.Key, TokenLabels.Labels(TokensOf(metadata), maxChars: 0), set.Similarity, set.Attention, set.Projection, set.Nearest, figures);
    }

    private int Add(QuantizedMap map)
    {
        maps.Add(map);
        return maps.Count - 1;
    }

    internal IReadOnlyDictionary<string, string> Similarity(string parquet, List<SimilarityEntry> entries)
    {
        var blocks = new List<(ActivationPoint Key, int Map)>();
        var metadata = Sync(() => VectorStoreReader.ForEachBlockAsync(parquet, block =>
        {
            blocks.Add((block.Key, Add(QuantizedMap.From(block.Values, block.Positions, block.Dim, maskThreshold: null))));
            return Task.CompletedTask;
        }));
        var points = StoredPoints.Read(metadata, parquet);
        var recorded = blocks.Select(b => points[b.Key with { Measure = null }]).ToList();
        // The file holds the points in the order the model recorded them: what a stack records before its first
        // block (its embeddings) comes first.
        var firstBlock = recorded.Select((p, i) => (p, i)).Where(x => x.p.Layer >= 0).GroupBy(x => x.p.Stack)
            .ToDictionary(g => g.Key, g => g.Min(x => x.i));
        similarityDepths.Clear();
        for (var i = 0; i < recorded.Count; i++)
            similarityDepths.TryAdd((recorded[i].Stack, recorded[i].Name), Depth.Within(recorded[i], i < firstBlock.GetValueOrDefault(recorded[i].Stack, int.MaxValue)));
        var measures = experiment.Metrics.Get<IReadOnlyList<string>>(SimilarityKind.Key) ?? [];
        entries.AddRange(blocks.Zip(recorded, (b, p) => (b.Map, Point: p, Measure: b.Key.Measure ?? ""))
            .OrderBy(b => Math.Max(0, measures.ToList().IndexOf(b.Measure))).ThenBy(b => Depth.StackOrder(b.Point.Stack))
            .ThenBy(b => similarityDepths[(b.Point.Stack, b.Point.Name)]).ThenBy(b => b.Point.Name, StringComparer.Ordinal)
            .Select(b => new SimilarityEntry(b.Point.Stack, b.Point.Name, b.Point.Layer, LayerNames.Map(b.Point), b.Measure, b.Map)));
        return metadata;
    }

    /// <summary>One block at a time: a head's panels are quantised as they come, so memory holds one map.</summary>
    internal void Attention(string parquet, List<AttentionEntry> entries)
    {
        using var store = VectorStoreReader.Open(parquet);
        var (metadata, points) = (store.Metadata, store.Points);
        var kernelRows = metadata.TryGetValue(StoreKeys.KernelRows, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? []
            : [];
        var maskThreshold = MaskedValues.Threshold(metadata.GetValueOrDefault(StoreKeys.DType)); // the static figures' rule
        var measures = MetricFigures.Panels.Select(p => p.Measure).ToHashSet(StringComparer.Ordinal);
        var heads = new Dictionary<ActivationPoint, (SortedDictionary<string, int> Panels, List<float[]> Kernel, bool ZeroBias)>();
        Task.Run(() => store.ForEachBlockAsync(block =>
        {
            var key = block.Key with { Measure = null };
            if (!heads.TryGetValue(key, out var head)) heads[key] = head = (new(StringComparer.Ordinal), [], false);
            var measure = block.Key.Measure ?? "";
            // As the static figures: a bias that is zero everywhere (T5 cross-attention) is no position bias.
            if (measure == "position_bias" && block.Values.All(v => v == 0)) heads[key] = head with { ZeroBias = true };
            else if (measure == "kernel") head.Kernel.Add(block.Values);
            else if (measures.Contains(measure)) head.Panels[measure] = Add(QuantizedMap.From(block.Values, block.Positions, block.Dim, maskThreshold));
            return Task.CompletedTask;
        })).GetAwaiter().GetResult();
        foreach (var (key, head) in heads.OrderBy(h => Depth.StackOrder(h.Key.Stack)).ThenBy(h => h.Key.Layer)
                     .ThenBy(h => h.Key.Point, StringComparer.Ordinal).ThenBy(h => h.Key.Head))
        {
            var kernel = !head.ZeroBias && head.Kernel.Count > 0 && kernelRows.TryGetValue(key.Point, out var row)
                ? new KernelEntry(row, head.Kernel[0])
                : null;
            entries.Add(new AttentionEntry(key.Stack, key.Point, key.Layer, key.Head ?? 0, LayerNames.AttentionModule(key),
                points[key with { Head = null }].Cross, head.Panels, kernel));
        }
    }

    internal static void Projection(string parquet, List<ProjectionEntry> entries)
    {
        var (metadata, blocks) = Sync(() => VectorStoreReader.ReadAsync(parquet));
        var info = metadata.TryGetValue(StoreKeys.Projection, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, TrajectoryProjectionUnit.ProjectionInfo>>(json) ?? []
            : [];
        var points = StoredPoints.Read(metadata, parquet);
        foreach (var series in blocks.GroupBy(b => points.SeriesOf(b.Key) ?? b.Key.Point)
                     .OrderBy(g => Depth.StackOrder(g.First().Key.Stack)).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            var layers = series.OrderBy(b => b.Key.Layer).ToList();
            var (tokens, count) = (layers[0].Positions, layers.Count);
            var x = new float[tokens * count];
            var y = new float[tokens * count];
            var range = layers.SelectMany(b => b.Values).Select(Math.Abs).DefaultIfEmpty(0).Max();
            for (var l = 0; l < count; l++)
                for (var p = 0; p < tokens; p++)
                {
                    x[p * count + l] = Round(layers[l].Values[p * 2], range);
                    y[p * count + l] = Round(layers[l].Values[p * 2 + 1], range);
                }
            var ratio = info.TryGetValue(series.Key, out var i) ? i.ExplainedVarianceRatio : [];
            entries.Add(new ProjectionEntry(series.Key, layers[0].Key.Stack, [.. layers.Select(b => b.Key.Layer)],
                [.. layers.Select(b => LayerNames.OnTrajectory(points[b.Key with { Measure = null }]))], [.. ratio.Select(r => Math.Round(r, 4))], x, y));
        }
    }

    /// <summary>Five significant digits of the largest coordinate: far below a pixel, a third of the JSON.</summary>
    private static float Round(float v, float range)
    {
        if (!(range > 0) || !float.IsFinite(v)) return v;
        var step = Math.Pow(10, Math.Floor(Math.Log10(range)) - 4);
        return (float)(Math.Round(v / step) * step);
    }

    internal static string[] TokensOf(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(StoreKeys.Tokens, out var json) ? JsonSerializer.Deserialize<string[]>(json) ?? [] : [];

    internal static Dictionary<string, NearestEntry> Nearest(string parquet, bool byteLevel)
    {
        var (metadata, rows) = NearestRows.Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var result = new Dictionary<string, NearestEntry>(StringComparer.Ordinal);
        foreach (var series in rows.GroupBy(r => points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path, StringComparer.Ordinal)
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var k = Math.Min(MaxNearest, series.Max(r => r.Rank) + 1);
            var byMeasure = new SortedDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<string>>>>(StringComparer.Ordinal);
            foreach (var measure in series.GroupBy(r => r.Measure, StringComparer.Ordinal))
            {
                var byLayer = new SortedDictionary<string, IReadOnlyList<IReadOnlyList<string>>>(StringComparer.Ordinal);
                foreach (var layer in measure.GroupBy(r => r.Layer))
                {
                    var positions = layer.Max(r => r.Position) + 1;
                    var lists = Enumerable.Range(0, positions).Select(_ => new List<string>()).ToList();
                    foreach (var r in layer.Where(r => r.Rank < k).OrderBy(r => r.Position).ThenBy(r => r.Rank))
                        lists[r.Position].Add(r.Token is null ? "#" + r.TokenId.ToString(CultureInfo.InvariantCulture) : TokenLabels.Readable(r.Token, byteLevel));
                    byLayer[layer.Key.ToString(CultureInfo.InvariantCulture)] = lists;
                }
                byMeasure[measure.Key] = byLayer;
            }
            result[series.Key] = new NearestEntry(k, byMeasure);
        }
        return result;
    }

    /// <summary>The figure unit's files in gallery order, each with the thumbnail that unit made of its PNG.</summary>
    private List<FigureEntry> Figures(ModelSpec m, TextSpec t, List<SimilarityEntry> similarity,
        IReadOnlyDictionary<(string Stack, string Point), double> depths)
    {
        var unit = new FiguresUnit(ws, experiment, m, t);
        var manifest = StageRunner.Upstream(unit.ManifestPath, $"figures of {unit.Key}");
        var labels = similarity.GroupBy(s => (s.Stack, s.Point)).ToDictionary(g => g.Key, g => g.First().Label);
        (string Label, double Depth) Describe(string stack, string point, int layer) =>
            (labels.GetValueOrDefault((stack, point)) ?? LayerNames.Join([stack, point]), depths.TryGetValue((stack, point), out var d) ? d : Depth.OfBlock(layer));
        var files = manifest.Outputs.Select(o => ws.Absolute(o.Path)).ToLookup(Thumbnails.IsThumbnail);
        var thumbnails = files[true].ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
        var entries = new List<FigureEntry>();
        foreach (var figure in FigureCatalog.Catalog(files[false], FiguresUnit.Records(manifest), Describe))
        {
            var thumb = figure.Files.ContainsKey("png") ? thumbnails.GetValueOrDefault(figure.Stem) : null;
            (int Width, int Height)? size = thumb is null ? null : Thumbnails.PngSize(thumb) ?? throw new InvalidDataException($"{thumb}: not a PNG");
            var links = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (format, path) in figure.Files) links[format] = Url(path);
            entries.Add(new FigureEntry(figure.Kind, figure.Stem, figure.Group, figure.Caption, thumb is null ? null : Url(thumb),
                size?.Width ?? 0, size?.Height ?? 0, links));
        }
        return entries;
    }

    /// <summary>A relative URL from the page to <paramref name="file"/>, each segment percent-encoded.</summary>
    private string Url(string file)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(PageDir), Path.GetFullPath(file)).Replace('\\', '/');
        return string.Join('/', relative.Split('/').Select(s => s is ".." or "." ? s : Uri.EscapeDataString(s)));
    }

    private static T Sync<T>(Func<Task<T>> run) => Task.Run(run).GetAwaiter().GetResult();
}
