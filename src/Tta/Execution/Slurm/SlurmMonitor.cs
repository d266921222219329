namespace Tta.Execution.Slurm;

/// <summary>
/// Follows submitted arrays to the end. Each poll is one squeue call for every array with unfinished tasks (states
/// and reasons of pending, running and recently finished tasks); the exit code of a task that ended badly is read
/// once from `scontrol show job` (squeue prints it only as a raw wait status). There is no slurmdbd on many small
/// clusters, so sacct is not used: finished tasks are seen as long as the controller keeps them (MinJobAge, 300 s
/// by default), which is many polls.
/// </summary>
public sealed class SlurmMonitor(SlurmClient client)
{
    private readonly List<SlurmSubmission> _submissions = [];
    private readonly Dictionary<string, SlurmTaskStatus> _status = new(StringComparer.Ordinal);

    public IReadOnlyList<SlurmSubmission> Submissions => _submissions;

    /// <summary>Every tracked task, in submission and index order.</summary>
    public IReadOnlyList<SlurmTaskStatus> Tasks =>
        [.. _submissions.SelectMany(s => Enumerable.Range(0, s.Keys.Count).Select(i => _status[$"{s.JobId}_{i}"]))];

    public bool Finished => _status.Values.All(t => t.State.IsFinished());

    public SlurmSummary Summary => SlurmSummary.From(Tasks);

    public void Track(SlurmSubmission submission)
    {
        _submissions.Add(submission);
        for (var i = 0; i < submission.Keys.Count; i++)
            _status[$"{submission.JobId}_{i}"] = submission.Queued(i);
    }

    /// <summary>Asks the controller where every unfinished task stands and returns all tasks.</summary>
    public IReadOnlyList<SlurmTaskStatus> Poll()
    {
        var open = _submissions.Where(s => Enumerable.Range(0, s.Keys.Count)
            .Any(i => !_status[$"{s.JobId}_{i}"].State.IsFinished())).ToList();
        if (open.Count == 0)
            return Tasks;
        var listed = client.Queue(open.Select(s => s.JobId))
            .ToDictionary(e => $"{e.JobId}_{e.Index}", StringComparer.Ordinal);
        foreach (var submission in open)
            for (var i = 0; i < submission.Keys.Count; i++)
            {
                var id = $"{submission.JobId}_{i}";
                var before = _status[id];
                if (before.State.IsFinished())
                    continue;
                _status[id] = listed.TryGetValue(id, out var entry)
                    ? Update(before, entry)
                    : before with { State = SlurmTaskState.Lost };
            }
        return Tasks;
    }

    private SlurmTaskStatus Update(SlurmTaskStatus before, SlurmQueueEntry entry)
    {
        var state = SlurmStates.FromSlurm(entry.State, entry.Reason);
        // The node stays known once seen, so a task lost with its node is reported with it.
        var now = before with
        {
            State = state, SlurmState = entry.State, Reason = entry.Reason,
            Node = entry.Node.Length > 0 ? entry.Node : before.Node,
        };
        if (state == SlurmTaskState.Completed)
            return now with { ExitCode = 0, Signal = 0 };
        if (!state.IsFailure() || state == SlurmTaskState.DependencyNeverSatisfied)
            return now;
        var record = client.ShowJob(before.TaskId).FirstOrDefault();
        var exit = SlurmOutput.ParseExitCode(record?.GetValueOrDefault("ExitCode"));
        var node = SlurmOutput.NodeOf(record);
        return now with { ExitCode = exit?.Code, Signal = exit?.Signal, Node = node.Length > 0 ? node : now.Node };
    }
}
