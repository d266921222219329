namespace Tta.Execution.Slurm;

/// <summary>How many tasks of one stage are queued, running, done (completed) and failed (any other end).</summary>
public sealed record SlurmStageCounts(string Stage, int Queued, int Running, int Done, int Failed)
{
    public int Total => Queued + Running + Done + Failed;

    public override string ToString() => $"{Stage} {Queued} queued, {Running} running, {Done}/{Total} done, {Failed} failed";
}
