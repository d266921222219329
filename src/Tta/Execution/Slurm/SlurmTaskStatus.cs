using System.Text;

namespace Tta.Execution.Slurm;

/// <summary>One array task's state at the last poll, with what a report needs: its unit key and its logs.</summary>
/// <param name="JobId">the array's job id (tasks are JOBID_INDEX in Slurm's tools)</param>
/// <param name="Index">the task's index in the array</param>
/// <param name="SlurmState">Slurm's own state name (PENDING, FAILED, …); empty before the first poll</param>
/// <param name="Reason">Slurm's reason (Dependency, Resources, NonZeroExitCode, …)</param>
/// <param name="ExitCode">the exit code of a finished task that ran, when Slurm reports one</param>
/// <param name="Signal">the signal that ended it, when one did (0 when none)</param>
/// <param name="Node">the node it runs or ran on, once a poll has seen one ("" before)</param>
/// <param name="Units">how many units the task builds (a group of units that share a model; 1 when not grouped)</param>
public sealed record SlurmTaskStatus(
    string Stage,
    string Key,
    string JobId,
    int Index,
    SlurmTaskState State,
    string SlurmState,
    string Reason,
    string StdoutPath,
    string StderrPath,
    int? ExitCode = null,
    int? Signal = null,
    string Node = "",
    int Units = 1)
{
    public string TaskId => $"{JobId}_{Index}";

    /// <summary>
    /// "Metrics x/m/t: FAILED, exit code 3 (job 12_4); log: /…/12_4.err, /…/12_4.out"; a task lost with its node names
    /// it: "Extract x/m/t: NODE_FAIL on node2, the node stopped answering (job 12_3); log: …".
    /// </summary>
    public string Describe()
    {
        var text = new StringBuilder().Append(Stage).Append(' ').Append(Key).Append(": ")
            .Append(string.IsNullOrEmpty(SlurmState) ? State.ToString() : SlurmState);
        if (State == SlurmTaskState.NodeFail)
            text.Append(" on ").Append(Node.Length > 0 ? Node : "an unknown node")
                .Append(", the node stopped answering and the unit was lost with it");
        else if (State == SlurmTaskState.DependencyNeverSatisfied)
            text.Append(", not run: a job it depends on failed");
        else if (State == SlurmTaskState.Lost)
            text.Append(", no longer known to the controller (MinJobAge passed before it was seen to finish)");
        else if (Signal is > 0)
            text.Append(", signal ").Append(Signal);
        else if (ExitCode is not null && State != SlurmTaskState.Completed)
            text.Append(", exit code ").Append(ExitCode);
        text.Append(" (job ").Append(TaskId).Append(')');
        if (State != SlurmTaskState.DependencyNeverSatisfied)
            text.Append("; log: ").Append(StderrPath).Append(", ").Append(StdoutPath);
        return text.ToString();
    }
}
