using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Models;
using Tta.Metrics;

namespace Tta.Figures;

/// <summary>
/// Figures stage, per experiment × model × text and requested kind (<c>figures.kinds</c>), in every requested format
/// under figures/: similarity heatmaps per (point, measure); attention panels and kernel per (module, block, head);
/// trajectory line charts and nearest-token grids per (hidden-state series, measure), trajectory projections per
/// series. See <see cref="MetricFigures"/>. Last, per experiment, the interactive explorer (<see cref="Explorer.ExplorerUnit"/>).
/// </summary>
public static class FiguresStage
{
    public const string Name = "Figures";
    public const string CodeVersion = "figures-4";

    public static IEnumerable<StageUnit> Units(RunContext context) =>
        context.Experiments.SelectMany(e =>
            (from m in e.Models from t in e.Texts select (StageUnit)new FiguresUnit(context.Workspace, e, m, t))
            .Append(new Explorer.ExplorerUnit(context.Workspace, e)));

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
        "projection" => new TrajectoryProjectionUnit(ws, experiment, model, text),
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
                "projection" => ProjectionFigure.Render(figure, input),
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
        var points = StoredPoints.Read(Task.Run(() => VectorStoreReader.ReadMetadataAsync(parquet)).GetAwaiter().GetResult(), parquet);
        Task.Run(() => VectorStoreReader.ForEachBlockAsync(parquet, block =>
        {
            var key = block.Key;
            var labels = c.Labels(key.Stack, block.Positions); // decoder rows see the text shifted right
            var measure = key.Measure == "cosine" ? "cosine similarity" : "dot product";
            // A hidden state's number is the layer it enters; a module's number is its block.
            var kind = points[key with { Measure = null }].Kind == CaptureKind.HiddenState ? "layer " : "block ";
            var where = key.Layer < 0 ? null : kind + key.Layer.ToString(CultureInfo.InvariantCulture);
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
