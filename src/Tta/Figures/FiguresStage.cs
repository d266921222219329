using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Metrics;

namespace Tta.Figures;

/// <summary>Figures stage: one heatmap per (text, point, measure) in every requested format under figures/.</summary>
public static class FiguresStage
{
    public const string Name = "Figures";
    public const string CodeVersion = "figures-1";

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

    public override StageFingerprint Fingerprint()
    {
        var upstream = StageRunner.Upstream(Upstream.ManifestPath, $"metrics of {Key} (stage Metrics)");
        return new StageFingerprint(Stage, FiguresStage.CodeVersion)
            .AddConfig("figures", experiment.Figures)
            .Add("similarity", upstream.Outputs[0].Sha256);
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var (metadata, blocks) = VectorStoreReader.ReadAsync(Upstream.OutputPath).GetAwaiter().GetResult();
        var tokens = JsonSerializer.Deserialize<string[]>(metadata["tta.tokens"]) ?? [];
        var f = experiment.Figures;
        // Files of an earlier run of this unit that this run will not rewrite (e.g. a removed format) go away.
        if (Directory.Exists(OutputDir)) Directory.Delete(OutputDir, recursive: true);
        var outputs = new List<string>();
        if (!f.Kinds.Contains("similarity")) return outputs;
        foreach (var block in blocks)
        {
            var labels = f.TokenLabels && block.Positions == tokens.Length ? tokens : null;
            var spec = new HeatmapSpec(block.Values, block.Positions, block.Positions,
                Title: $"{model.Key} · {text.Key} · {block.Key.Point} · {block.Key.Measure}",
                XLabel: "Token Position", YLabel: "Token Position", XTicks: labels, YTicks: labels,
                Colormap: f.Colormap, CellPixels: f.CellPixels,
                ColorbarLabel: block.Key.Measure == "cosine" ? "cosine similarity" : "dot product");
            outputs.AddRange(HeatmapFigure.Render(spec, Path.Combine(OutputDir, FiguresStage.FileStem(block.Key)), f.Formats));
        }
        return outputs;
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

    public override StageFingerprint Fingerprint()
    {
        var fp = new StageFingerprint(Stage, FiguresStage.CodeVersion + "/report")
            .Add("experiment_file", Hashing.Sha256(File.ReadAllText(experiment.SourcePath)));
        foreach (var unit in FigureUnits)
            fp.Add("figures:" + unit.Key, StageRunner.Upstream(unit.ManifestPath, $"figures of {unit.Key}").Fingerprint);
        return fp;
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

    /// <summary>Kind of a figure from its file stem (<c>stack-Lnn-point-measure</c>).</summary>
    private static string Describe(string stem) => stem[(stem.LastIndexOf('-') + 1)..] switch
    {
        "cosine" => "similarity: cosine",
        "dot" => "similarity: dot product",
        var other => other,
    };
}
