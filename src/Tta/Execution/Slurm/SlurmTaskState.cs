namespace Tta.Execution.Slurm;

/// <summary>Where one array task stands, as tta reports it (Slurm's own state name is kept beside it).</summary>
public enum SlurmTaskState
{
    /// <summary>Waiting in the queue (PENDING, held, requeued), dependencies included.</summary>
    Pending,

    /// <summary>Started and not yet finished (RUNNING, COMPLETING, SUSPENDED, …).</summary>
    Running,

    /// <summary>Finished with exit code 0.</summary>
    Completed,

    /// <summary>Finished with a non-zero exit code, or failed to launch.</summary>
    Failed,

    /// <summary>Cancelled by scancel (a user, an admin, or tta on Ctrl-C).</summary>
    Cancelled,

    /// <summary>Killed at its time limit.</summary>
    Timeout,

    /// <summary>Killed for exceeding its --mem.</summary>
    OutOfMemory,

    /// <summary>Its node failed (stopped answering the controller); tta submits --no-requeue, so the task ends here.</summary>
    NodeFail,

    /// <summary>Never ran because a job it depends on failed (Slurm removes it: --kill-on-invalid-dep=yes).</summary>
    DependencyNeverSatisfied,

    /// <summary>The controller no longer knows the task (purged after MinJobAge before tta saw it finish).</summary>
    Lost,
}
