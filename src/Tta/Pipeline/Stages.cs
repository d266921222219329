using System.Reflection;
using Tta.Cache;
using Tta.Config;
using Tta.Core;
using Tta.Models;
using Tta.Download;
using Tta.Explorer;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Pipeline;

/// <summary>The stages in order, their units, and how a run checks them (the executors run them: Execution).</summary>
public static class Stages
{
    public static readonly IReadOnlyList<string> StageNames = [DownloadStage.Name, ExtractStage.Name, MetricsStage.Name, FiguresStage.Name];

    public static IEnumerable<StageUnit> Units(string stage, RunContext context) => stage switch
    {
        DownloadStage.Name => DownloadStage.Units(context),
        ExtractStage.Name => ExtractStage.Units(context),
        MetricsStage.Name => MetricsUnits(context),
        FiguresStage.Name => FiguresUnits(context),
        _ => throw new ArgumentException($"unknown stage '{stage}'; stages: {string.Join(", ", StageNames)}"),
    };

    /// <summary>
    /// The Metrics stage's units: per experiment × model × text, one per configured metric kind, each with its own
    /// fingerprint and output file (<see cref="MetricsStage"/>); the kinds are those the context carries (<see cref="MetricKinds.Of"/>), so changing one kind's settings reruns only that kind.
    /// </summary>
    private static IEnumerable<StageUnit> MetricsUnits(RunContext context)
    {
        var ws = context.Workspace;
        var kinds = MetricKinds.Of(context);
        foreach (var e in context.Experiments)
        {
            foreach (var m in e.Models)
                foreach (var t in e.Texts)
                    foreach (var kind in kinds.Configured(e))
                        yield return kind.Unit(ws, e, m, t);
            // Then the study kinds, over the whole corpus: they read every text's activations.
            foreach (var kind in kinds.ConfiguredStudies(e))
                foreach (var unit in kind.Units(ws, e))
                    yield return unit;
        }
    }

    /// <summary>
    /// The Figures stage's units: per experiment × model × text with per-text figures (<see cref="FiguresSpec.PerTextFor"/>),
    /// one <see cref="FiguresUnit"/>; then, per experiment, the study figures (<see cref="StudyFiguresUnit"/>, when a
    /// study kind's figures are asked for) and last the interactive explorer (<see cref="ExplorerUnit"/>).
    /// </summary>
    private static IEnumerable<StageUnit> FiguresUnits(RunContext context)
    {
        var kinds = MetricKinds.Of(context);
        return context.Experiments.SelectMany(e =>
            (from m in e.Models from t in e.PerTextFigureTexts() select (StageUnit)new FiguresUnit(context.Workspace, e, m, t, kinds))
            .Concat(new StudyFiguresUnit(context.Workspace, e, kinds) is { Wanted: true } study ? [study] : [])
            .Append(new ExplorerUnit(context.Workspace, e, kinds)));
    }

    /// <summary>Position of a stage in <see cref="StageNames"/> (Download = 0).</summary>
    public static int Order(string stage) => StageNames.ToList().IndexOf(Canonical(stage));

    /// <param name="option">the option that named it (e.g. <c>force-stage</c>): the error then names the option and the closest stage.</param>
    public static string Canonical(string stage, string? option = null) =>
        StageNames.FirstOrDefault(s => string.Equals(s, stage, StringComparison.OrdinalIgnoreCase)
                                       || string.Equals(s, stage.Replace("-", ""), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(option is null
            ? $"unknown stage '{stage}'; stages: {string.Join(", ", StageNames)}"
            : $"--{option}={stage}: no such stage{(Suggestions.Closest(stage, StageNames) is { } guess ? $" — did you mean {guess}?" : "")}; write one of {string.Join(", ", StageNames)}");

    /// <summary>The TorchSharp backend this build references (<c>cpu</c>, or <c>cuda</c> with ./build.sh --torch=cuda).</summary>
    public static string TorchBackend { get; } = typeof(Stages).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "TtaTorch")?.Value ?? "cpu";

    /// <summary>
    /// Checks that need more than the experiment file, done before any stage runs: the device against the build's
    /// backend, the tokenizer's ids against config.json's vocab_size and requested layers against each model whose
    /// checkpoint is already at hand (local checkpoints and models downloaded earlier, also earlier in this run: every
    /// stage checks again), and capture-point patterns once every
    /// model's config is at hand (<see cref="CapturePointCheck"/>).
    /// </summary>
    public static void Validate(RunContext context)
    {
        ExperimentOwners.Check(context.Workspace, context.Experiments);
        foreach (var e in context.Experiments)
        {
            var known = new List<CapturePointCheck.KnownModel>();
            foreach (var m in e.Models)
            {
                if (m.Device == "cuda" && TorchBackend != "cuda")
                    throw new ConfigException(m.At,
                        $"model '{m.Key}' asks for device: cuda, but this build uses TorchSharp's CPU backend; set device: cpu, or rebuild with ./build.sh --torch=cuda where the TorchSharp-cuda-linux package is available");
                var dir = KnownCheckpoint(context.Workspace, e, m, context.HashLog);
                var configPath = dir is null ? null : Path.Combine(dir, "config.json");
                if (dir is null || configPath is null || !File.Exists(configPath)) continue;
                var config = CheckpointConfigCheck.Load(configPath);
                CheckpointConfigCheck.CheckTokenizer(configPath, config);
                if (e.Extract.Layers is not null) ExperimentLoader.CheckLayers(e, m, ModelFactory.LayerCount(config, dir));
                known.Add(new(m, config, dir));
            }
            if (known.Count == e.Models.Count) CapturePointCheck.Check(e, known);
        }
    }

    /// <summary>
    /// The checkpoint folder of a model when it is at hand without downloading: a local one, or a download whose
    /// unit is up to date (a damaged one is Download's to repair, not a reason to stop here). Else null.
    /// </summary>
    private static string? KnownCheckpoint(Workspace ws, Experiment e, ModelSpec m, IHashLog? hashLog)
    {
        if (m.Source == ModelSources.Local) return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(e.SourcePath)!, m.Path ?? "."));
        if (!StageRunner.Check(DownloadStage.For(ws, e, m), ws, hashLog: hashLog).UpToDate) return null;
        try { return DownloadStage.Result(ws, e, m).CheckpointDir; }
        catch (MissingInputException) { return null; }
    }

    /// <summary>
    /// Status of every unit of a stage; forced units are stale whatever their manifests say, and with
    /// <paramref name="verify"/> every recorded output is hashed again (see <see cref="StageRunner.Check"/>).
    /// </summary>
    public static IReadOnlyList<UnitStatus> Check(string stage, RunContext context, bool forced, bool verify = false)
    {
        if (!verify) return Units(stage, context).Select(u => Status(u, context, forced, verify)).ToList();
        // Verification may mark manifests: it writes, so each unit is verified under its unit lock, within the run.
        using var runLock = RunLock.Acquire(context.Workspace.CacheDir, LockMode.Shared, null, context.Log);
        return Units(stage, context).Select(u =>
        {
            using var unitLock = UnitLock.Acquire(context.Workspace.CacheDir, u, [], context.Log);
            return Status(u, context, forced, verify);
        }).ToList();
    }

    private static UnitStatus Status(StageUnit unit, RunContext context, bool forced, bool verify) =>
        forced ? new UnitStatus(unit, false, ["forced"]) : StageRunner.Check(unit, context.Workspace, verify, context.HashLog);
}
