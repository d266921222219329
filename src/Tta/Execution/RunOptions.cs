using Tta.Cache;

namespace Tta.Execution;

/// <summary>How a run treats its units: which are forced stale, and whether to explain and re-verify.</summary>
public sealed record RunOptions(Func<StageUnit, bool> Forced, bool Explain = false, bool Verify = false)
{
    public static readonly RunOptions Default = new(_ => false);

    /// <summary>Told where each unit stands (for Cake's per-stage tasks and Ctrl-C's report); none when null.</summary>
    public RunTracker? Tracker { get; init; }

    /// <summary>
    /// After a unit fails, still start every other unit whose inputs are there (a Slurm task's group of units: one
    /// failure must not leave the others unbuilt); the run still fails, naming each failed unit.
    /// </summary>
    public bool KeepGoing { get; init; }
}
