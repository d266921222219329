using System.Globalization;
using Tta.Store;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Explorer;
using Tta.Figures;
using Tta.Metrics;
using Tta.Models;

namespace Tta.Pipeline;

/// <summary>
/// Reads what the explorer page of one experiment shows — the metrics files of every model × shown text
/// (<see cref="Experiment.ExplorerTexts"/>, one block at a time), the figure units' files of the shown texts with
/// per-text figures, the unit manifests — and returns the page data with the quantised maps.
/// </summary>
public sealed class ExplorerBuilder(Workspace ws, Experiment experiment, MetricKinds kinds)
{
    private readonly List<QuantizedMap> maps = [];
    private readonly TokenTables tokenTables = new();

    public string PageDir => Path.Combine(ws.FiguresDir, experiment.Name);

    public IReadOnlyList<QuantizedMap> Maps => maps;

    /// <summary>The experiment file's text (relative paths are taken from the workspace root, as in an archive).</summary>
    public static string ExperimentText(Workspace ws, Experiment e) =>
        File.ReadAllText(Path.IsPathRooted(e.SourcePath) ? e.SourcePath : ws.Absolute(e.SourcePath));

    /// <summary>The metric units whose files the page embeds for one model × text: those of the kinds with an explorer view.</summary>
    public static IEnumerable<(IMetricKind Kind, MetricsUnitBase Unit)> MetricUnits(Workspace ws, Experiment e, ModelSpec m, TextSpec t, MetricKinds kinds) =>
        kinds.Configured(e).Where(k => k.HasView).Select(k => (k, k.Unit(ws, e, m, t)));

    /// <summary>The study kinds an experiment configures, each with its units (whose files the page's Study view embeds).</summary>
    public static IEnumerable<(IStudyKind Kind, IReadOnlyList<StudyUnit> Units)> StudyUnits(Workspace ws, Experiment e, MetricKinds kinds) =>
        kinds.ConfiguredStudies(e).Select(k => (k, k.Units(ws, e)));

    /// <summary>The run's units below the explorer (Extract, Metrics, Figures) as the run manifest records them.</summary>
    public static List<PageUnit> RunUnits(Workspace ws, Experiment e, MetricKinds kinds)
    {
        using var context = kinds.AttachTo(new RunContext(ws, [e], TextWriter.Null));
        var units = new List<PageUnit>();
        foreach (var stage in new[] { ExtractStage.Name, MetricsStage.Name, FiguresStage.Name })
            foreach (var unit in Stages.Units(stage, context).Where(u => u is not ExplorerUnit))
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
        var shown = experiment.ExplorerTexts();
        foreach (var m in experiment.Models)
            foreach (var t in shown)
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
            Texts: [.. shown.Select(t => t.Key)],
            Sets: sets,
            TokenTables: tokenTables.All,
            Maps: [.. maps.Select(q => new PageMap(q.Rows, q.Cols, q.Symmetric, q.Min, q.Scale, q.MaskedCells))],
            Yaml: ExperimentText(ws, experiment),
            Run: RunUnits(ws, experiment, kinds),
            Study: BuildStudy());
    }

    /// <summary>The Study view, each study kind reading its units' files; null without study kinds.</summary>
    private PageStudy? BuildStudy()
    {
        var study = new StudySet();
        foreach (var (kind, units) in StudyUnits(ws, experiment, kinds))
        {
            foreach (var unit in units) StageRunner.Upstream(unit.ManifestPath, $"{kind.Name} study of {unit.Key} (stage Metrics)");
            kind.Explore(study, units);
        }
        return study.Page;
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
        var set = new ExplorerSet(experiment, m.Key, Add, tokenTables);
        foreach (var (kind, unit) in MetricUnits(ws, experiment, m, t, kinds))
        {
            StageRunner.Upstream(unit.ManifestPath, $"{kind.Name} metrics of {experiment.Name}/{m.Key}/{t.Key} (stage Metrics)");
            kind.Explore(set, unit.OutputPath);
        }
        metadata = set.Metadata ?? throw new InvalidOperationException($"no similarity maps for {experiment.Name}/{m.Key}/{t.Key}");
        var figures = experiment.Figures.PerTextFor(t) ? Figures(m, t, set.Points) : [];
        // The figures' display rule (readable text, visible whitespace), never cut: the page has room on hover.
        return new PageSet(m.Key, t.Key, TokenLabels.Labels(set.Tokens, maxChars: 0), set.Similarity, set.Attention, set.Projection, set.Nearest, figures, set.LogitLens);
    }

    private int Add(QuantizedMap map)
    {
        maps.Add(map);
        return maps.Count - 1;
    }

    /// <summary>The figure unit's files in gallery order, each with the thumbnail that unit made of its PNG.</summary>
    private List<FigureEntry> Figures(ModelSpec m, TextSpec t, IReadOnlyDictionary<(string Stack, string Point), (string Label, double Depth)> points)
    {
        var unit = new FiguresUnit(ws, experiment, m, t, kinds);
        var manifest = StageRunner.Upstream(unit.ManifestPath, $"figures of {unit.Key}");
        (string Label, double Depth) Describe(string stack, string point, int layer) =>
            points.TryGetValue((stack, point), out var known) ? known : (LayerNames.Join([stack, point]), Depth.OfBlock(layer));
        var files = manifest.Outputs.Select(o => ws.Absolute(o.Path)).ToLookup(Thumbnails.IsThumbnail);
        var thumbnails = files[true].ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
        var entries = new List<FigureEntry>();
        foreach (var figure in FigureCatalog.Catalog(files[false], FiguresUnit.Records(manifest), kinds.Names,
                     record => kinds.Get(record.Kind).Caption(record, Describe)))
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

}
