namespace Tta.Execution.Slurm;

/// <summary>
/// The live summary of a run: counts of units per stage (a task that builds a group counts each of its units), in the
/// order the stages were submitted.
/// </summary>
public sealed record SlurmSummary(IReadOnlyList<SlurmStageCounts> Stages)
{
    public static SlurmSummary From(IEnumerable<SlurmTaskStatus> tasks) =>
        new([.. tasks.GroupBy(t => t.Stage).Select(g => new SlurmStageCounts(g.Key,
            g.Where(t => t.State == SlurmTaskState.Pending).Sum(t => t.Units),
            g.Where(t => t.State == SlurmTaskState.Running).Sum(t => t.Units),
            g.Where(t => t.State == SlurmTaskState.Completed).Sum(t => t.Units),
            g.Where(t => t.State.IsFailure()).Sum(t => t.Units),
            g.Count()))]);

    public int Failed => Stages.Sum(s => s.Failed);

    /// <summary>One line: "slurm: Extract 0 queued, 10 running, 10/20 done, 0 failed (4 tasks) | Metrics 6 queued, …".</summary>
    public override string ToString() => "slurm: " + string.Join(" | ", Stages);

    public bool Equals(SlurmSummary? other) => other is not null && Stages.SequenceEqual(other.Stages);

    public override int GetHashCode() => Stages.Aggregate(0, (h, s) => HashCode.Combine(h, s));
}
