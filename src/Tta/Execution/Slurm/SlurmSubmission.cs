namespace Tta.Execution.Slurm;

/// <summary>
/// One submitted job array: its job id, the unit key of each array index, where each task's logs go
/// (LogDirectory/JOBID_INDEX.out and .err, as sbatch --output/--error were given them), and how many units each task
/// builds (<paramref name="Units"/>; one each when null).
/// </summary>
public sealed record SlurmSubmission(string JobId, string Stage, IReadOnlyList<string> Keys, string LogDirectory, IReadOnlyList<int>? Units = null)
{
    public string StdoutPath(int index) => Path.Combine(LogDirectory, $"{JobId}_{index}.out");

    public string StderrPath(int index) => Path.Combine(LogDirectory, $"{JobId}_{index}.err");

    /// <summary>The status a task has before any poll: queued.</summary>
    public SlurmTaskStatus Queued(int index) =>
        new(Stage, Keys[index], JobId, index, SlurmTaskState.Pending, "", "", StdoutPath(index), StderrPath(index), Units: Units?[index] ?? 1);
}
