using System.Globalization;
using Tta.Cache;
using Tta.Execution.Slurm;
using Tta.Extract;
using Tta.Models;

namespace Tta.Execution;

/// <summary>
/// Runs units on a Slurm cluster (an <see cref="IExecutor"/>). Download units run here first (the submit host is where the network is, and the
/// checkpoints they bring let every later unit be sized). Then the stale units of each later stage — and every unit
/// downstream of one that will be rebuilt — become one job array per stage, chained with
/// <c>--dependency=afterok</c>. Units that share a model are packed into one task (<see cref="SlurmGroups"/>:
/// <c>--group-size</c>, else as many as the time limit allows), which runs <c>tta-cli run --unit=ID --unit=ID…</c>
/// against the shared cache, loading the model once; the array asks for <c>--mem</c> from its largest task's estimate
/// and <c>--gres=gpu:1</c> for <c>device: cuda</c> models.
/// Progress is shown while it polls; when a task ends badly, each of its units is checked: the ones it built are done,
/// each other one fails the run by its own name, with its task and logs. When every unit of the tasks that ended badly
/// was built, the arrays their failure held back are submitted in one more round. Cancelling (Ctrl-C) scancels every
/// job of the run. A rerun submits only what is still stale. After the arrays end, the run prints per array how many units
/// ran in how many tasks with how many model loads (the <see cref="ExtractStage.LoadLinePrefix"/> lines of the tasks' logs).
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
        var runDir = Path.Combine(context.Workspace.CacheDir, WorkspaceCleaner.SlurmFolder,
            DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var ended = Submit(graph, later, context, options, runDir);
        if (ended is { Failures.Count: > 0, FailedUnits: 0 })
        {
            // Every unit of the tasks that ended badly was built (a task failed after its last unit: a crash at exit, a
            // node lost after the work), so the failure only held back the arrays that wait for them. One more round
            // submits the units those never ran, planned anew from what is on disk now.
            context.Log.WriteLine("slurm: every unit of the tasks that ended badly was built; submitting the units their failure held back");
            var fresh = UnitGraph.For(context);
            var notRun = ended.NotRun;
            ended = Submit(fresh, [.. fresh.Units.Where(u => notRun.Contains(u.Id))], context, options, runDir + "-2");
        }
        if (ended is { Failures.Count: > 0 })
            throw new SlurmException((ended.FailedUnits > 0 ? $"{ended.FailedUnits} unit(s) failed on Slurm"
                    : "tasks that ended badly after building all their units held back the units that wait for them, in both rounds") +
                $"; rerun to resubmit what is still stale:\n{string.Join('\n', ended.Failures.Select(f => f.Describe()))}");
        return outcomes;
    }

    /// <summary>
    /// Submits the stale units among <paramref name="later"/> (and every unit downstream of one that will be rebuilt) as
    /// one array per stage level, and follows them to the end: what became of each task's units, or null when nothing
    /// was stale.
    /// </summary>
    private SlurmTaskEnds? Submit(UnitGraph graph, IReadOnlyList<StageUnit> later, RunContext context, RunOptions options, string runDir)
    {
        var scheduled = new HashSet<string>(StringComparer.Ordinal);
        var arrays = new List<SlurmArrayJob>();
        var groups = new Dictionary<string, IReadOnlyList<StageUnit>>(StringComparer.Ordinal); // by task key
        foreach (var stage in Levels(graph, later))
        {
            var stale = new List<GroupCandidate<StageUnit>>();
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
                stale.Add(new(unit, LocalExecutor.NeedsOf(unit, context), UnitManifest.TryRead(unit.ManifestPath)?.Seconds));
            }
            if (stale.Count == 0) continue;
            var planned = SlurmGroups.Plan(stale, settings.GroupSize, settings.Options.TimeLimit);
            // One process per task: its model once, its largest working set and the runtime itself.
            var memoryMb = planned.Max(g => SlurmGroups.MemoryBytes(g.Select(u => u.Needs))) / (1L << 20) + 1;
            var tasks = new List<SlurmTask>();
            foreach (var group in planned.Select(g => g.Select(u => u.Unit).ToList()))
            {
                var key = group.Count == 1 ? group[0].Id : $"{group[0].Id} (+{group.Count - 1} more)";
                groups[key] = group;
                tasks.Add(new SlurmTask(key, settings.TaskCommand(group, options.Forced(group[0]), memoryMb)) { Units = [.. group.Select(u => u.Id)] });
            }
            arrays.Add(new SlurmArrayJob(stage.Name, tasks, Path.Combine(runDir, stage.Name), context.Workspace.Root, memoryMb, stale.Any(t => t.Needs.Gpu)));
            context.Log.WriteLine($"{stage.Name}: {stale.Count} unit(s) to submit in {tasks.Count} task(s), --mem={memoryMb}M each" + (arrays[^1].Gpu ? ", --gres=gpu:1" : ""));
        }
        if (arrays.Count == 0) return null;

        var ended = new SlurmTaskEnds(groups, options.Tracker, () => UnitGraph.For(context), context.Workspace);
        var runner = new SlurmRunner(new SlurmClient(new SlurmCli(), settings.Options), settings.PollInterval) { TaskEnded = ended.Record };
        var progress = settings.Progress ?? new SlurmProgressWriter(context.Log, live: false);
        var result = runner.Run(arrays, progress.Report, cancel);
        progress.Finish(SlurmSummary.From(result.Tasks));
        foreach (var line in LoadCounts(result.Tasks, groups)) context.Log.WriteLine(line);
        return ended;
    }

    /// <summary>
    /// Per array, in submission order: "Extract: 20 unit(s) in 4 task(s), 4 model load(s)", the loads counted in the
    /// tasks' logs (one <see cref="ExtractStage.LoadLinePrefix"/> line each).
    /// </summary>
    private static IEnumerable<string> LoadCounts(IReadOnlyList<SlurmTaskStatus> tasks, Dictionary<string, IReadOnlyList<StageUnit>> groups) =>
        tasks.GroupBy(t => t.Stage).Select(stage =>
            $"{stage.Key}: {stage.Sum(t => groups[t.Key].Count)} unit(s) in {stage.Count()} task(s), " +
            $"{stage.Sum(t => File.Exists(t.StdoutPath) ? File.ReadLines(t.StdoutPath).Count(l => l.StartsWith(ExtractStage.LoadLinePrefix, StringComparison.Ordinal)) : 0)} model load(s)");

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
