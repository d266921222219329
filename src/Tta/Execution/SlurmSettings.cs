using Tta.Cache;
using Tta.Execution.Slurm;
using Tta.Models;

namespace Tta.Execution;

/// <summary>
/// How a run submits to Slurm: the site options (partition, account, time limit), the units per task
/// (<see cref="GroupSize"/>) and the command each task runs, <c>tta-cli run --unit=ID --unit=ID…</c> with the run's root, cache, figures folder and experiments (all on the filesystem the
/// nodes share), one job at a time, and a memory limit equal to what the task asked Slurm for.
/// </summary>
public sealed record SlurmSettings(SlurmOptions Options, IReadOnlyList<string> Program, IReadOnlyList<string> CommonArguments)
{
    public TimeSpan? PollInterval { get; init; }

    /// <summary>Where progress goes (a live line on a terminal); plain lines on the run's log when null.</summary>
    public SlurmProgressWriter? Progress { get; init; }

    /// <summary>At most this many units per task (<c>--group-size</c>); <see cref="SlurmGroups"/>' rule when null.</summary>
    public int? GroupSize { get; init; }

    /// <summary>
    /// A task's command line. It starts with the planning machine's half-precision arithmetic
    /// (<see cref="ComputeDTypes.HalfPrecisionVariable"/>), so a node resolves <c>compute_dtype: auto</c> as the
    /// planner did when it fingerprinted the unit, whatever the node's CPU. Its units run one at a time
    /// (<c>--jobs=1</c>) in the one process, so their model is loaded once.
    /// </summary>
    public IReadOnlyList<string> TaskCommand(IReadOnlyList<StageUnit> units, bool forced, long memoryMb) =>
        ["env", $"{ComputeDTypes.HalfPrecisionVariable}={ComputeDTypes.Describe(ComputeDTypes.ThisMachine())}", .. Program, "run",
            .. units.Select(u => $"--unit={u.Id}"), .. CommonArguments, "--jobs=1", $"--memory-limit={memoryMb}M", .. forced ? ["--force"] : Array.Empty<string>()];
}
