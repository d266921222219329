namespace Tta.Execution.Slurm;

/// <summary>
/// How many units of one stage are queued, running, done (their task completed) and failed (any other end), and in
/// how many tasks (<see cref="Tasks"/>: fewer than the units when tasks build groups of units).
/// </summary>
public sealed record SlurmStageCounts(string Stage, int Queued, int Running, int Done, int Failed, int Tasks = 0)
{
    public int Total => Queued + Running + Done + Failed;

    public override string ToString() =>
        $"{Stage} {Queued} queued, {Running} running, {Done}/{Total} done, {Failed} failed" + (Tasks > 0 && Tasks != Total ? $" ({Tasks} tasks)" : "");
}
