using Tta.Cache;

namespace Tta.Execution.Slurm;

/// <summary>
/// Decides, as each task of a run ends, what became of its units, and tells the run's tracker. A completed task
/// built all of them. A task that ended otherwise may still have built some (its units run one after another, and a
/// failing one does not stop the others): each unit found up to date (<see cref="StageRunner.Check"/>) is done, each
/// other one failed, by its own name, with the task's id and logs. A task Slurm never started because a job it
/// waits for failed is left waiting (its stage was not reached); it is listed as not run, one line per task.
/// </summary>
/// <param name="groups">the units of each task, by task key.</param>
/// <param name="freshGraph">the run's units made anew: the units the run planned with may have fingerprinted upstream
/// records that their tasks' upstream tasks have since replaced.</param>
public sealed class SlurmTaskEnds(IReadOnlyDictionary<string, IReadOnlyList<StageUnit>> groups, RunTracker? tracker,
    Func<UnitGraph> freshGraph, Workspace workspace)
{
    private readonly List<SlurmTaskStatus> failures = [];
    private readonly HashSet<string> notRun = new(StringComparer.Ordinal);
    private UnitGraph? fresh;

    /// <summary>
    /// What did not get built, one <see cref="SlurmTaskStatus.Describe"/> line each: every failed unit (the unit's id
    /// as the key), then every task never run because of them.
    /// </summary>
    public IReadOnlyList<SlurmTaskStatus> Failures =>
        [.. failures.OrderBy(f => f.State == SlurmTaskState.DependencyNeverSatisfied)];

    /// <summary>How many units failed (not counting those never run).</summary>
    public int FailedUnits => failures.Count(f => f.State != SlurmTaskState.DependencyNeverSatisfied);

    /// <summary>The ids of the units of the tasks Slurm never ran because a job they wait for failed.</summary>
    public IReadOnlySet<string> NotRun => notRun;

    public void Record(SlurmTaskStatus task)
    {
        var units = groups[task.Key];
        if (task.State == SlurmTaskState.Completed)
        {
            foreach (var unit in units) tracker?.Done(unit, didRun: true);
            return;
        }
        if (task.State == SlurmTaskState.DependencyNeverSatisfied)
        {
            failures.Add(task); // one line per task: its key names its first unit and how many more
            notRun.UnionWith(units.Select(u => u.Id));
            return;
        }
        fresh ??= freshGraph();
        foreach (var unit in units)
        {
            if (IsBuilt(fresh.Find(unit.Id)))
            {
                tracker?.Done(unit, didRun: true);
                continue;
            }
            tracker?.Failed(unit);
            failures.Add(task with { Key = unit.Id });
        }
    }

    private bool IsBuilt(StageUnit unit)
    {
        try { return StageRunner.Check(unit, workspace).UpToDate; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; } // unreadable: not known to be built
    }
}
