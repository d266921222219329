namespace Tta.Execution.Slurm;

/// <summary>How every task of a run ended.</summary>
public sealed record SlurmRunResult(IReadOnlyList<SlurmTaskStatus> Tasks)
{
    /// <summary>Tasks that did not complete: failed ones first, then those that never ran because of them.</summary>
    public IReadOnlyList<SlurmTaskStatus> Failures =>
        [.. Tasks.Where(t => t.State.IsFailure()).OrderBy(t => t.State == SlurmTaskState.DependencyNeverSatisfied)];

    public bool Succeeded => Failures.Count == 0;

    /// <summary>One line per failed task (unit key, Slurm state, exit code, log paths).</summary>
    public string Report() => string.Join('\n', Failures.Select(f => f.Describe()));
}
