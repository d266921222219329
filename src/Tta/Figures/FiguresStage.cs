using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Metrics;

namespace Tta.Figures;

/// <summary>
/// Figures stage, per experiment × model × text and requested kind (<c>figures.kinds</c>), in every requested format
/// under figures/: similarity heatmaps per (point, measure); attention panels and kernel per (module, block, head);
/// trajectory line charts and nearest-token grids per (hidden-state series, measure). See <see cref="MetricFigures"/>.
/// </summary>
public static class FiguresStage
{
    public const string Name = "Figures";
    public const string CodeVersion = "figures-4";

    public static IEnumerable<StageUnit> Units(RunContext context) =>
        context.Experiments.SelectMany(e =>
            (from m in e.Models from t in e.Texts select (StageUnit)new FiguresUnit(context.Workspace, e, m, t))
            .Append(new ReportUnit(context.Workspace, e)));

    /// <summary>File name (without extension) that says model, text, stack, layer, point and kind.</summary>
    public static string FileStem(ActivationPoint key)
    {
        var point = string.Concat(key.Point.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
        var layer = key.Layer >= 0 ? $"L{key.Layer.ToString("00", CultureInfo.InvariantCulture)}-" : "";
        var head = key.Head is { } h ? $"-h{h.ToString("00", CultureInfo.InvariantCulture)}" : "";
        return $"{key.Stack}-{layer}{point}{head}-{key.Measure ?? "values"}";
    }
}

public sealed class FiguresUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) : StageUnit
{
    public override string Stage => FiguresStage.Name;
    public override string Key => $"{experiment.Name}/{model.Key}/{text.Key}";

    public override string ManifestPath => Path.Combine(ws.CacheDir, "figures", experiment.Name, model.Key, text.Key, "manifest.json");
    private string OutputDir => Path.Combine(ws.FiguresDir, experiment.Name, model.Key, text.Key);
    private MetricsUnit Upstream => MetricsStage.For(ws, experiment, model, text);

    /// <summary>The metrics unit that a figure kind reads.</summary>
    private MetricsUnitBase Input(string kind) => kind switch
    {
        "similarity" => Upstream,
        "attention" => new AttentionMetricsUnit(ws, experiment, model, text),
        "trajectory" => new TrajectoryMetricsUnit(ws, experiment, model, text),
        "nearest" => new NearestMetricsUnit(ws, experiment, model, text),
        _ => throw new InvalidOperationException($"unknown figure kind '{kind}'"),
    };

    /// <summary>
    /// The figure settings and the metrics file of every requested kind, so a change to one metric's settings reruns
    /// only the figures (and this unit only when that file's bytes changed).
    /// </summary>
    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(FiguresStage.CodeVersion).Param("figures", experiment.Figures).Writes(OutputDir);
        foreach (var kind in experiment.Figures.Kinds)
        {
            var input = Input(kind);
            declaration.Reads(input, Path.GetFileName(input.OutputPath));
        }
        return declaration;
    }

    /// <summary>Every figure of every requested kind, rendered side by side on <see cref="RunContext.Jobs"/> threads.</summary>
    public override IReadOnlyList<string> Run(RunContext context)
    {
        var f = experiment.Figures;
        // Files of an earlier run of this unit that this run will not rewrite (e.g. a removed format) go away.
        if (Directory.Exists(OutputDir)) Directory.Delete(OutputDir, recursive: true);
        var jobs = new List<FigureJob>();
        foreach (var kind in f.Kinds)
        {
            var input = Input(kind).OutputPath;
            var metadata = Task.Run(() => VectorStoreReader.ReadMetadataAsync(input)).GetAwaiter().GetResult();
            var tokens = metadata.TryGetValue("tta.tokens", out var json) ? JsonSerializer.Deserialize<string[]>(json) ?? [] : [];
            var figure = new FigureContext(model.Key, text.Key, tokens, f, OutputDir, metadata.GetValueOrDefault("tta.dtype"));
            jobs.AddRange(kind switch
            {
                "similarity" => Similarity(figure, input),
                "attention" => MetricFigures.Attention(figure, input),
                "trajectory" => MetricFigures.Trajectory(figure, input),
                "nearest" => MetricFigures.Nearest(figure, input),
                _ => throw new InvalidOperationException($"unknown figure kind '{kind}'"),
            });
        }
        return FigureJobs.Run(jobs, context);
    }

    /// <summary>One heatmap per (point, measure) of similarity.parquet; the maps are read first, then drawn in parallel.</summary>
    private static List<FigureJob> Similarity(FigureContext c, string parquet)
    {
        var f = c.Spec;
        var jobs = new List<FigureJob>();
        Task.Run(() => VectorStoreReader.ForEachBlockAsync(parquet, block =>
        {
            var key = block.Key;
            var labels = c.Labels(key.Stack, block.Positions); // decoder rows see the text shifted right
            var measure = key.Measure == "cosine" ? "cosine similarity" : "dot product";
            // hidden_states.N is the input of layer N; a module's number is its block.
            var where = key.Layer < 0 ? null : (key.Point.Contains("hidden_states", StringComparison.Ordinal) ? "layer " : "block ") + key.Layer.ToString(CultureInfo.InvariantCulture);
            var spec = new HeatmapSpec(block.Values, block.Positions, block.Positions,
                Title: c.Title(key.Stack, where, key.Point, measure),
                XLabel: "Token Position", YLabel: "Token Position", XTicks: labels, YTicks: labels,
                Colormap: f.Colormap, CellPixels: f.CellPixels, ColorbarLabel: measure);
            var stem = FiguresStage.FileStem(key);
            jobs.Add(new FigureJob(stem, () => HeatmapFigure.Render(spec, c.Path(stem), f.Formats, f.Dpi), spec));
            return Task.CompletedTask;
        })).GetAwaiter().GetResult();
        return jobs;
    }
}

/// <summary>
/// The experiment's browsable report, figures/&lt;experiment&gt;/index.html: rebuilt when any figure unit of the
/// experiment or the experiment file changed.
/// </summary>
public sealed class ReportUnit(Workspace ws, Experiment experiment) : StageUnit
{
    public override string Stage => FiguresStage.Name;
    public override string Key => $"{experiment.Name}/index.html";
    public override string ManifestPath => Path.Combine(ws.CacheDir, "figures", experiment.Name, "report.manifest.json");

    private IEnumerable<FiguresUnit> FigureUnits =>
        from m in experiment.Models from t in experiment.Texts select new FiguresUnit(ws, experiment, m, t);

    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(FiguresStage.CodeVersion + "/report")
            .Param("experiment_file", Hashing.Sha256(File.ReadAllText(experiment.SourcePath)))
            .Writes(ReportPage.PathFor(ws.FiguresDir, experiment.Name));
        foreach (var unit in FigureUnits) declaration.Reads(unit);
        return declaration;
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var figures = new List<ReportFigure>();
        var manifests = new List<UnitManifest>();
        foreach (var unit in FigureUnits)
        {
            var manifest = StageRunner.Upstream(unit.ManifestPath, $"figures of {unit.Key}");
            manifests.Add(manifest);
            var parts = unit.Key.Split('/');
            figures.AddRange(manifest.Outputs.Select(o => ws.Absolute(o.Path))
                .GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new ReportFigure(parts[1], parts[2], Describe(g.Key), g.Key, g.ToList())));
        }
        var models = experiment.Models.Select(m =>
        {
            var download = UnitManifest.TryRead(Download.DownloadStage.For(ws, experiment, m).ManifestPath);
            return new ReportModel(m.Key, m.Id, m.Source, m.Revision, download?.Facts?.GetValueOrDefault("weights_sha256") is { } w ? "weights sha256 " + w[..16] : null);
        }).ToList();
        var runManifest = string.Join("\n", manifests.Select(m => $"{m.Stage} {m.Unit}: fingerprint {m.Fingerprint[..16]}, {m.Outputs.Count} files, {m.Seconds:0.00} s"));
        var data = new ReportData(experiment.Name, figures, File.ReadAllText(experiment.SourcePath), models, runManifest,
            $"tta · {experiment.Name}");
        return [ReportPage.Write(ws.FiguresDir, data)];
    }

    /// <summary>
    /// Kind of a figure from its file stem: <c>stack-Lnn-point-measure</c> (similarity) or
    /// <c>…-KIND-WHAT</c> for the other kinds (see <see cref="MetricFigures"/>).
    /// </summary>
    public static string Describe(string stem)
    {
        foreach (var kind in new[] { "attention", "trajectory", "nearest" })
        {
            var at = stem.LastIndexOf($"-{kind}-", StringComparison.Ordinal);
            if (at < 0) continue;
            var what = stem[(at + kind.Length + 2)..];
            var caption = kind switch
            {
                "attention" => what == MetricFigures.KernelSlug
                    ? PaperFigures.KernelTitle
                    : MetricFigures.Panels.Select(p => p.Panel).Where(p => PaperFigures.Slug(p) == what).Select(PaperFigures.Title).FirstOrDefault() ?? what,
                "nearest" => "nearest token, " + MetricFigures.NearestMeasureLabel(what),
                _ => what.Replace('_', ' '),
            };
            return $"{kind}: {caption}";
        }
        return stem[(stem.LastIndexOf('-') + 1)..] switch
        {
            "cosine" => "similarity: cosine",
            "dot" => "similarity: dot product",
            var other => other,
        };
    }
}
