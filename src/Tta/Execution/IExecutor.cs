using Tta.Cache;

namespace Tta.Execution;

/// <summary>
/// One way to run units of a run's graph: here (<see cref="LocalExecutor"/>) or on a Slurm cluster
/// (<see cref="SlurmExecutor"/>). Peers: <see cref="PipelineRun"/> chooses one (<see cref="PipelineRun.Executor"/>)
/// and hands it the units to run.
/// </summary>
public interface IExecutor
{
    /// <summary>
    /// Runs the stale ones of <paramref name="units"/> (a subset of <paramref name="graph"/>, in graph order), each after
    /// the units it reads; returns what ran here. Throws on the first failure, after the units already running end.
    /// </summary>
    IReadOnlyList<UnitOutcome> Run(UnitGraph graph, IReadOnlyList<StageUnit> units, RunContext context, RunOptions options);
}
