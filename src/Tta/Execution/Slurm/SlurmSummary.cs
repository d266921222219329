namespace Tta.Execution.Slurm;

/// <summary>The live summary of a run: counts per stage, in the order the stages were submitted.</summary>
public sealed record SlurmSummary(IReadOnlyList<SlurmStageCounts> Stages)
{
    public static SlurmSummary From(IEnumerable<SlurmTaskStatus> tasks) =>
        new([.. tasks.GroupBy(t => t.Stage).Select(g => new SlurmStageCounts(g.Key,
            g.Count(t => t.State == SlurmTaskState.Pending),
            g.Count(t => t.State == SlurmTaskState.Running),
            g.Count(t => t.State == SlurmTaskState.Completed),
            g.Count(t => t.State.IsFailure())))]);

    public int Failed => Stages.Sum(s => s.Failed);

    /// <summary>One line: "slurm: Extract 0 queued, 2 running, 4/6 done, 0 failed | Metrics 6 queued, …".</summary>
    public override string ToString() => "slurm: " + string.Join(" | ", Stages);

    public bool Equals(SlurmSummary? other) => other is not null && Stages.SequenceEqual(other.Stages);

    public override int GetHashCode() => Stages.Aggregate(0, (h, s) => HashCode.Combine(h, s));
}
