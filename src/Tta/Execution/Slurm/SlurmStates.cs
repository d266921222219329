namespace Tta.Execution.Slurm;

/// <summary>Slurm's job state names (squeue/scontrol, long form) mapped to <see cref="SlurmTaskState"/>.</summary>
public static class SlurmStates
{
    private const string NeverSatisfied = "DependencyNeverSatisfied";

    public static SlurmTaskState FromSlurm(string state, string reason)
    {
        // scontrol may append flags ("CANCELLED by 0"); the name is the first word.
        var name = state.Split(' ', 2)[0].Trim().ToUpperInvariant();
        if (reason == NeverSatisfied && name is "PENDING" or "CANCELLED")
            return SlurmTaskState.DependencyNeverSatisfied;
        return name switch
        {
            "PENDING" or "CONFIGURING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESV_DEL_HOLD"
                or "SPECIAL_EXIT" => SlurmTaskState.Pending,
            "COMPLETED" => SlurmTaskState.Completed,
            "FAILED" or "BOOT_FAIL" or "DEADLINE" or "PREEMPTED" or "REVOKED" => SlurmTaskState.Failed,
            "CANCELLED" => SlurmTaskState.Cancelled,
            "TIMEOUT" => SlurmTaskState.Timeout,
            "OUT_OF_MEMORY" => SlurmTaskState.OutOfMemory,
            "NODE_FAIL" => SlurmTaskState.NodeFail,
            // RUNNING, COMPLETING, SUSPENDED, STOPPED, SIGNALING, STAGE_OUT, RESIZING, and names newer Slurm adds: the
            // task is still in the controller, so it is not finished; once purged it is seen as Lost.
            _ => SlurmTaskState.Running,
        };
    }

    public static bool IsFinished(this SlurmTaskState state) =>
        state is not (SlurmTaskState.Pending or SlurmTaskState.Running);

    public static bool IsFailure(this SlurmTaskState state) =>
        state.IsFinished() && state != SlurmTaskState.Completed;
}
