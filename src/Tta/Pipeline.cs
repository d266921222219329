using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Models;
using Tta.Download;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics;

namespace Tta;

/// <summary>The stages in order, and how a run checks and executes one of them.</summary>
public static class Pipeline
{
    public static readonly IReadOnlyList<string> StageNames = [DownloadStage.Name, ExtractStage.Name, MetricsStage.Name, FiguresStage.Name];

    public static IEnumerable<StageUnit> Units(string stage, RunContext context) => stage switch
    {
        DownloadStage.Name => DownloadStage.Units(context),
        ExtractStage.Name => ExtractStage.Units(context),
        MetricsStage.Name => MetricsStage.Units(context),
        FiguresStage.Name => FiguresStage.Units(context),
        _ => throw new ArgumentException($"unknown stage '{stage}'; stages: {string.Join(", ", StageNames)}"),
    };

    public static string Canonical(string stage) =>
        StageNames.FirstOrDefault(s => string.Equals(s, stage, StringComparison.OrdinalIgnoreCase)
                                       || string.Equals(s, stage.Replace("-", ""), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown stage '{stage}'; stages: {string.Join(", ", StageNames)}");

    /// <summary>The TorchSharp backend this build references (<c>cpu</c>, or <c>cuda</c> with ./build.sh --torch=cuda).</summary>
    public static string TorchBackend { get; } = typeof(Pipeline).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "TtaTorch")?.Value ?? "cpu";

    /// <summary>
    /// Checks that need more than the experiment file, done before any stage runs: the device against the build's
    /// backend, and requested layers and capture-point patterns against each model whose checkpoint is already at hand
    /// (local checkpoints and models downloaded earlier, also earlier in this run: every stage checks again).
    /// </summary>
    public static void Validate(RunContext context)
    {
        foreach (var e in context.Experiments)
            foreach (var m in e.Models)
            {
                if (m.Device == "cuda" && TorchBackend != "cuda")
                    throw new ConfigException(m.At,
                        $"model '{m.Key}' asks for device: cuda, but this build uses TorchSharp's CPU backend; set device: cpu, or rebuild with ./build.sh --torch=cuda where the TorchSharp-cuda-linux package is available");
                var dir = KnownCheckpoint(context.Workspace, e, m);
                var configPath = dir is null ? null : Path.Combine(dir, "config.json");
                if (dir is null || configPath is null || !File.Exists(configPath)) continue;
                var config = CheckpointConfigCheck.Load(configPath);
                var layers = LayerCount(config);
                if (e.Extract.Layers is not null) ExperimentLoader.CheckLayers(e, m, layers);
                CapturePointCheck.Check(e, m, dir, layers);
            }
    }

    /// <summary>Number of transformer layers in a config.json (names differ between architectures).</summary>
    public static int LayerCount(JsonObject config) =>
        config.Int("num_hidden_layers", config.Int("num_layers", config.Int("n_layer", 0)));

    /// <summary>
    /// The checkpoint folder of a model when it is at hand without downloading: a local one, or a download whose
    /// unit is up to date (a damaged one is Download's to repair, not a reason to stop here). Else null.
    /// </summary>
    private static string? KnownCheckpoint(Workspace ws, Experiment e, ModelSpec m)
    {
        if (m.Source == "local") return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(e.SourcePath)!, m.Path ?? "."));
        if (!StageRunner.Check(DownloadStage.For(ws, e, m), ws).UpToDate) return null;
        try { return DownloadStage.Result(ws, e, m).CheckpointDir; }
        catch (MissingInputException) { return null; }
    }

    /// <summary>
    /// Status of every unit of a stage; forced units are stale whatever their manifests say, and with
    /// <paramref name="verify"/> every recorded output is hashed again (see <see cref="StageRunner.Check"/>).
    /// </summary>
    public static IReadOnlyList<UnitStatus> Check(string stage, RunContext context, bool forced, bool verify = false)
    {
        // Verification may mark manifests: it writes, so it runs under the run lock.
        using var runLock = verify ? RunLock.Acquire(context.Workspace.CacheDir, LockMode.Exclusive, null, context.Log) : null;
        return Units(stage, context).Select(u => Status(u, context, forced, verify)).ToList();
    }

    private static UnitStatus Status(StageUnit unit, RunContext context, bool forced, bool verify) =>
        forced ? new UnitStatus(unit, false, ["forced"]) : StageRunner.Check(unit, context.Workspace, verify);

    /// <summary>
    /// Runs the stale units of a stage under the run lock (held already when a parent process, such as the Cake run,
    /// took it for the whole run); returns how many ran.
    /// </summary>
    public static int Run(string stage, RunContext context, bool forced, bool explain, bool verify = false)
    {
        using var runLock = RunLock.Acquire(context.Workspace.CacheDir, LockMode.Exclusive, null, context.Log);
        if (explain && runLock.Inherited) context.Log.WriteLine($"{stage}: working under the run lock of process {runLock.EnvironmentValue.Split(':')[1]}");
        context.Workspace.EnsureFolders();
        TempFiles.RemoveStale([context.Workspace.CacheDir, context.Workspace.FiguresDir], context.Log);
        var ran = 0;
        var units = Units(stage, context).ToList();
        // Each unit is checked just before it would run: a later unit of a stage may read an earlier one's output. A run
        // of units that read nothing of each other's (RunsAlongside) is checked together and run side by side (--jobs).
        for (var i = 0; i < units.Count;)
        {
            var batch = units[i].RunsAlongside ? units.Skip(i).TakeWhile(u => u.RunsAlongside).ToList() : [units[i]];
            i += batch.Count;
            var stale = new List<StageUnit>();
            foreach (var status in batch.Select(u => Status(u, context, forced, verify)))
            {
                if (status.UpToDate)
                    context.Log.WriteLine($"{stage} {status.Unit.Key}: up to date");
                else
                {
                    if (explain || verify) context.Log.WriteLine($"{stage} {status.Unit.Key}: stale — {string.Join("; ", status.Reasons)}");
                    stale.Add(status.Unit);
                }
            }
            var seconds = new double[stale.Count];
            void RunOne(int k)
            {
                var watch = Stopwatch.StartNew();
                StageRunner.Run(stale[k], context);
                seconds[k] = watch.Elapsed.TotalSeconds;
            }
            if (stale.Count == 1 || context.Jobs == 1)
                for (var k = 0; k < stale.Count; k++) RunOne(k);
            else
                try
                {
                    Parallel.For(0, stale.Count, new ParallelOptions { MaxDegreeOfParallelism = context.Jobs }, RunOne);
                }
                catch (AggregateException e) when (e.InnerExceptions.Count > 0)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
                }
            for (var k = 0; k < stale.Count; k++)
                context.Log.WriteLine($"{stage} {stale[k].Key}: done in {seconds[k]:0.00} s");
            ran += stale.Count;
        }
        return ran;
    }
}
