namespace Tta.Execution.Slurm;

/// <summary>
/// The stale units of one stage, submitted as one job array.
/// </summary>
/// <param name="Stage">stage name (letters, digits, . _ -); the job is named tta-STAGE</param>
/// <param name="Tasks">one task per unit, in array order</param>
/// <param name="Directory">where the task scripts and the per-task logs go, one per array (not yet holding task
/// scripts); on the filesystem the nodes share</param>
/// <param name="WorkingDirectory">where each task runs; the submitter's current directory when null</param>
/// <param name="MemoryMbPerTask">--mem for each task (the unit's memory estimate); the cluster's default when null</param>
/// <param name="Gpu">request one GPU per task (--gres=gpu:1), for models with device: cuda</param>
/// <param name="AfterOk">job ids that must all complete successfully first (--dependency=afterok)</param>
public sealed record SlurmArrayJob(
    string Stage,
    IReadOnlyList<SlurmTask> Tasks,
    string Directory,
    string? WorkingDirectory = null,
    long? MemoryMbPerTask = null,
    bool Gpu = false,
    IReadOnlyList<string>? AfterOk = null)
{
    public string JobName => "tta-" + Stage;
}
