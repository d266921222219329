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
    /// backend, and requested layers against each model whose config.json is already at hand (local checkpoints and
    /// models downloaded earlier; the rest are checked in Extract before anything is written).
    /// </summary>
    public static void Validate(RunContext context)
    {
        foreach (var e in context.Experiments)
            foreach (var m in e.Models)
            {
                if (m.Device == "cuda" && TorchBackend != "cuda")
                    throw new ConfigException(m.At,
                        $"model '{m.Key}' asks for device: cuda, but this build uses TorchSharp's CPU backend; set device: cpu, or rebuild with ./build.sh --torch=cuda where the TorchSharp-cuda-linux package is available");
                if (e.Extract.Layers is null) continue;
                var config = KnownConfig(context.Workspace, e, m);
                if (config is not null) ExperimentLoader.CheckLayers(e, m, LayerCount(config));
            }
    }

    /// <summary>Number of transformer layers in a config.json (names differ between architectures).</summary>
    public static int LayerCount(JsonObject config) =>
        config.Int("num_hidden_layers", config.Int("num_layers", config.Int("n_layer", 0)));

    private static JsonObject? KnownConfig(Workspace ws, Experiment e, ModelSpec m)
    {
        string? dir = null;
        if (m.Source == "local") dir = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(e.SourcePath)!, m.Path ?? "."));
        else
        {
            try { dir = DownloadStage.Result(ws, e, m).CheckpointDir; }
            catch (MissingInputException) { }
        }
        var path = dir is null ? null : Path.Combine(dir, "config.json");
        return path is not null && File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?.AsObject() : null;
    }

    /// <summary>Status of every unit of a stage; forced units are stale whatever their manifests say.</summary>
    public static IReadOnlyList<UnitStatus> Check(string stage, RunContext context, bool forced) =>
        Units(stage, context).Select(u => Status(u, context, forced)).ToList();

    private static UnitStatus Status(StageUnit unit, RunContext context, bool forced) =>
        forced ? new UnitStatus(unit, false, ["forced"]) : StageRunner.Check(unit, context.Workspace);

    /// <summary>Runs the stale units of a stage under the cache lock; returns how many ran.</summary>
    public static int Run(string stage, RunContext context, bool forced, bool explain)
    {
        using var cacheLock = CacheLock.Acquire(context.Workspace.CacheDir, TimeSpan.FromMinutes(10), context.Log);
        var ran = 0;
        var units = Units(stage, context).ToList();
        // Each unit is checked just before it would run: a later unit of a stage may read an earlier one's output. A run
        // of units that read nothing of each other's (RunsAlongside) is checked together and run side by side (--jobs).
        for (var i = 0; i < units.Count;)
        {
            var batch = units[i].RunsAlongside ? units.Skip(i).TakeWhile(u => u.RunsAlongside).ToList() : [units[i]];
            i += batch.Count;
            var stale = new List<StageUnit>();
            foreach (var status in batch.Select(u => Status(u, context, forced)))
            {
                if (status.UpToDate)
                    context.Log.WriteLine($"{stage} {status.Unit.Key}: up to date");
                else
                {
                    if (explain) context.Log.WriteLine($"{stage} {status.Unit.Key}: stale — {string.Join("; ", status.Reasons)}");
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
