using Tta.Cache;

namespace Tta.Execution;

/// <summary>
/// Where each unit of a run stands (waiting, running, done, failed), told by <see cref="LocalExecutor"/> as units
/// finish here, and by <see cref="SlurmExecutor"/> as its polls see each array task end. It
/// says when a stage's last unit is done (<see cref="StageFinished"/>: Cake's stage tasks wait for that, so each shows
/// its own time), which stage failed, and, on Ctrl-C, what was interrupted and what the next run will redo. Units are
/// known by their ids (a Slurm run's second round tells it of units made anew).
/// </summary>
public sealed class RunTracker
{
    private readonly object gate = new();
    private readonly Dictionary<string, List<StageUnit>> waiting = new(StringComparer.Ordinal); // by stage
    private readonly List<StageUnit> running = [];
    private readonly Dictionary<string, int> ran = new(StringComparer.Ordinal);
    private int done;

    /// <summary>Called with a stage and how many of its units ran, once every unit of it in the run is done.</summary>
    public Action<string, int>? StageFinished { get; init; }

    /// <summary>The stage of the first unit that failed, or null.</summary>
    public string? FailedStage { get; private set; }

    public void Begin(IEnumerable<StageUnit> units)
    {
        lock (gate)
            foreach (var u in units)
                (waiting.TryGetValue(u.Stage, out var list) ? list : waiting[u.Stage] = []).Add(u);
    }

    public void Started(StageUnit unit)
    {
        lock (gate) running.Add(unit);
    }

    /// <summary>The unit is done: it <paramref name="didRun"/>, or was found up to date.</summary>
    public void Done(StageUnit unit, bool didRun)
    {
        var finished = -1;
        lock (gate)
        {
            running.RemoveAll(u => u.Id == unit.Id);
            done++;
            if (didRun) ran[unit.Stage] = ran.GetValueOrDefault(unit.Stage) + 1;
            if (waiting.TryGetValue(unit.Stage, out var list) && list.RemoveAll(u => u.Id == unit.Id) > 0 && list.Count == 0)
                finished = ran.GetValueOrDefault(unit.Stage);
        }
        if (finished >= 0) StageFinished?.Invoke(unit.Stage, finished);
    }

    public void Failed(StageUnit unit)
    {
        lock (gate)
        {
            running.RemoveAll(u => u.Id == unit.Id);
            FailedStage ??= unit.Stage;
        }
    }

    /// <summary>What an interrupt stops: the units running now, and the units not reached yet, by stage.</summary>
    public string InterruptionReport()
    {
        lock (gate)
        {
            var now = running.Select(u => $"{u.Stage} {u.Key}").ToList();
            var later = waiting.Values.SelectMany(l => l).ExceptBy(running.Select(u => u.Id), u => u.Id).GroupBy(u => u.Stage).Select(g => $"{g.Key} {g.Count()}").ToList();
            var laterCount = waiting.Values.Sum(l => l.Count) - running.Count;
            var report = now.Count == 0
                ? "interrupted: no unit was running."
                : $"interrupted: {string.Join(", ", now)} {(now.Count == 1 ? "was" : "were")} running; {(now.Count == 1 ? "it is" : "they are")} not recorded as built (files being written stay temporary .tmp-… files, removed by the next run), so the next run redoes {(now.Count == 1 ? "it" : "them")}.";
            if (laterCount > 0) report += $" {laterCount} unit(s) were not reached ({string.Join(", ", later)}); the next run checks them and builds what is stale.";
            if (done > 0) report += $" {done} unit(s) finished before and stay built.";
            return report;
        }
    }
}
