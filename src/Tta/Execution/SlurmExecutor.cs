using System.Globalization;
using Tta.Cache;
using Tta.Execution.Slurm;
using Tta.Models;

namespace Tta.Execution;

/// <summary>
/// Runs units on a Slurm cluster (an <see cref="IExecutor"/>). Download units run here first (the submit host is where the network is, and the
/// checkpoints they bring let every later unit be sized). Then the stale units of each later stage — and every unit
/// downstream of one that will be rebuilt — become one job array per stage, chained with
/// <c>--dependency=afterok</c>; each task runs <c>tta-cli run --unit=ID</c> against the shared cache, asks for
/// <c>--mem</c> from the stage's largest memory estimate and <c>--gres=gpu:1</c> for <c>device: cuda</c> models.
/// Progress is shown while it polls; a failed task fails the run naming its unit and log; cancelling (Ctrl-C)
/// scancels every job of the run. A rerun submits only what is still stale.
/// The run's <see cref="RunOptions.Tracker"/> hears of each unit as the polls see its task end (or when it is found up
/// to date), so a stage is done once its arrays are, and a failed task fails its own stage (Cake's stage tasks wait
/// for that, not for the whole run). It returns the outcomes of what ran here (the Download units).
/// </summary>
public sealed class SlurmExecutor(SlurmSettings settings, CancellationToken cancel) : IExecutor
{
    public IReadOnlyList<UnitOutcome> Run(UnitGraph graph, IReadOnlyList<StageUnit> units, RunContext context, RunOptions options)
    {
        var download = units.Where(u => u.Stage == Download.DownloadStage.Name).ToList();
        var outcomes = download.Count > 0 ? new LocalExecutor().Run(graph, download, context, options) : [];

        var later = units.Where(u => u.Stage != Download.DownloadStage.Name).ToList();
        options.Tracker?.Begin(later);
        var scheduled = new HashSet<string>(StringComparer.Ordinal);
        var arrays = new List<SlurmArrayJob>();
        var runDir = Path.Combine(context.Workspace.CacheDir, WorkspaceCleaner.SlurmFolder,
            DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        foreach (var stage in Levels(graph, later))
        {
            var tasks = new List<(StageUnit Unit, UnitResources Needs)>();
            foreach (var unit in stage.Units)
            {
                var rebuiltUpstream = graph.UpstreamOf(unit).Any(d => scheduled.Contains(d.Id));
                var status = options.Forced(unit) || rebuiltUpstream ? null : StageRunner.Check(unit, context.Workspace, options.Verify, context.HashLog);
                if (status is { UpToDate: true })
                {
                    context.Log.WriteLine($"{unit.Stage} {unit.Key}: up to date");
                    options.Tracker?.Done(unit, didRun: false);
                    continue;
                }
                if (options.Explain)
                    context.Log.WriteLine($"{unit.Stage} {unit.Key}: stale — {(status is null ? (rebuiltUpstream ? "an upstream unit is rebuilt in this run" : "forced") : string.Join("; ", status.Reasons))}");
                scheduled.Add(unit.Id);
                tasks.Add((unit, LocalExecutor.NeedsOf(unit, context)));
            }
            if (tasks.Count == 0) continue;
            // One process per task: its model, working set and the runtime itself.
            var memoryMb = tasks.Max(t => t.Needs.TotalBytes + MemoryEstimate.ProcessBytes) / (1L << 20) + 1;
            arrays.Add(new SlurmArrayJob(stage.Name,
                [.. tasks.Select(t => new SlurmTask(t.Unit.Id, settings.TaskCommand(t.Unit, options.Forced(t.Unit), memoryMb)))],
                Path.Combine(runDir, stage.Name), context.Workspace.Root, memoryMb, tasks.Any(t => t.Needs.Gpu)));
            context.Log.WriteLine($"{stage.Name}: {tasks.Count} unit(s) to submit, --mem={memoryMb}M each" + (arrays[^1].Gpu ? ", --gres=gpu:1" : ""));
        }
        if (arrays.Count == 0) return outcomes;

        var byId = later.ToDictionary(u => u.Id, StringComparer.Ordinal);
        var runner = new SlurmRunner(new SlurmClient(new SlurmCli(), settings.Options), settings.PollInterval)
        {
            TaskEnded = task => Report(options.Tracker, byId[task.Key], task.State),
        };
        var progress = settings.Progress ?? new SlurmProgressWriter(context.Log, live: false);
        var result = runner.Run(arrays, progress.Report, cancel);
        progress.Finish(SlurmSummary.From(result.Tasks));
        if (!result.Succeeded)
            throw new SlurmException($"{result.Failures.Count(f => f.State != SlurmTaskState.DependencyNeverSatisfied)} unit(s) failed on Slurm; " +
                $"rerun to resubmit what is still stale:\n{result.Report()}");
        return outcomes;
    }

    /// <summary>
    /// Tells the tracker how a unit's task ended: completed (it ran), or failed in its own stage. A task Slurm never
    /// started because a job it waits for failed is left waiting: its stage was not reached.
    /// </summary>
    private static void Report(RunTracker? tracker, StageUnit unit, SlurmTaskState state)
    {
        if (state == SlurmTaskState.Completed) tracker?.Done(unit, didRun: true);
        else if (state != SlurmTaskState.DependencyNeverSatisfied) tracker?.Failed(unit);
    }

    /// <summary>
    /// The units of each stage in dependency levels: units that read another unit of their own stage (the report
    /// reads the figures) go into a later array, named STAGE-2, STAGE-3, …, which waits for the earlier ones.
    /// </summary>
    private static IEnumerable<(string Name, List<StageUnit> Units)> Levels(UnitGraph graph, IReadOnlyList<StageUnit> units)
    {
        var level = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var unit in units) // graph order: upstream units come first
            level[unit.Id] = graph.UpstreamOf(unit).Where(d => d.Stage == unit.Stage && level.ContainsKey(d.Id))
                .Select(d => level[d.Id] + 1).DefaultIfEmpty(0).Max();
        return units.GroupBy(u => (u.Stage, Level: level[u.Id]))
            .Select(g => (g.Key.Level == 0 ? g.Key.Stage : $"{g.Key.Stage}-{g.Key.Level + 1}", g.ToList()));
    }
}
