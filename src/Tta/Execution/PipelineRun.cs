using Tta.Cache;
using Tta.Core;
using Tta.Pipeline;

namespace Tta.Execution;

/// <summary>Runs the stages' units: the whole run (<see cref="Run"/>) or one unit of it (<see cref="RunUnit"/>).</summary>
public static class PipelineRun
{
    /// <summary>
    /// Runs the stale units of <paramref name="stages"/> with the run's executor (<see cref="Executor"/>: on this
    /// machine side by side up to <c>--jobs</c>, each under its unit lock, or on Slurm), while holding the run lock shared (held already when a parent
    /// process, such as the Cake run, took it for the whole run), so Clean waits for it but other runs do not.
    /// </summary>
    public static IReadOnlyList<UnitOutcome> Run(IReadOnlyCollection<string> stages, RunContext context, RunOptions options,
        SlurmSettings? slurm = null, CancellationToken cancel = default)
    {
        using var runLock = RunLock.Acquire(context.Workspace.CacheDir, LockMode.Shared, null, context.Log);
        if (options.Explain && runLock.Inherited) context.Log.WriteLine($"run: working under the run lock of process {runLock.EnvironmentValue.Split(':')[1]}");
        context.Workspace.EnsureFolders();
        ExperimentOwners.Record(context.Workspace, context.Experiments);
        TempFiles.RemoveStale([context.Workspace.CacheDir, context.Workspace.FiguresDir], context.Log);
        var graph = UnitGraph.For(context);
        var units = graph.Units.Where(u => stages.Contains(u.Stage)).ToList();
        return Executor(slurm, cancel).Run(graph, units, context, options);
    }

    /// <summary>The executor a run uses: Slurm when its settings are given (<c>--executor=slurm</c>), else this machine.</summary>
    public static IExecutor Executor(SlurmSettings? slurm, CancellationToken cancel) =>
        slurm is null ? new LocalExecutor() : new SlurmExecutor(slurm, cancel);

    /// <summary>
    /// Runs exactly these units of the graph (each if it is stale, or forced), under the run lock shared: a Slurm
    /// task's group. A model they share is loaded once (<see cref="RunContext.Keep"/>). A failing unit does not stop
    /// the others: every unit whose inputs are there runs, then the first failure is thrown and each failed unit
    /// named in the log.
    /// </summary>
    public static IReadOnlyList<UnitOutcome> RunUnits(IReadOnlyList<string> ids, RunContext context, RunOptions options)
    {
        using var runLock = RunLock.Acquire(context.Workspace.CacheDir, LockMode.Shared, null, context.Log);
        context.Workspace.EnsureFolders();
        ExperimentOwners.Record(context.Workspace, context.Experiments);
        var graph = UnitGraph.For(context);
        var units = ids.Distinct(StringComparer.Ordinal).Select(graph.Find).ToList();
        var outcomes = new LocalExecutor().Run(graph, units, context, options with { KeepGoing = true });
        if (Environment.GetEnvironmentVariable(FailAfterUnitsVariable) is { Length: > 0 } stage && units.All(u => u.Stage == stage))
            throw new InvalidOperationException($"{FailAfterUnitsVariable}={stage}: failing after building every unit (fault injection)");
        return outcomes;
    }

    /// <summary>
    /// Fault injection for the Slurm tests: with TTA_FAULT_FAIL_AFTER_UNITS=STAGE, <see cref="RunUnits"/> of units of
    /// that stage fails after building all of them, as a task that crashes at its exit does.
    /// </summary>
    public const string FailAfterUnitsVariable = "TTA_FAULT_FAIL_AFTER_UNITS";
}
