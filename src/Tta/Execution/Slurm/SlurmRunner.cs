namespace Tta.Execution.Slurm;

/// <summary>
/// Runs stages on Slurm: submits each stage's units as a job array that starts only after every earlier stage of the
/// run completed successfully (afterok), polls until every task has ended, and reports the summary as it goes.
/// A stage may be several arrays in a row with the same Stage name (units with different --mem or --gres): they
/// run side by side, and the next stage waits for all of them.
/// A failed task fails its stage's dependents (Slurm cancels them: DependencyNeverSatisfied) while the other tasks
/// of its own stage run on, so one run reports every failure it can. Cancelling the token (Ctrl-C) scancels every
/// job of the run that has not ended, then throws <see cref="OperationCanceledException"/>.
/// <see cref="TaskEnded"/> hears of each task once, at the first poll that sees it ended, so a caller can tell when
/// each stage's arrays are done while later stages still run.
/// </summary>
public sealed class SlurmRunner(SlurmClient client, TimeSpan? pollInterval = null)
{
    /// <summary>How long squeue may keep failing (controller restarting, network) before the run gives up.</summary>
    public int PollFailureLimit { get; init; } = 10;

    public TimeSpan PollInterval { get; } = pollInterval ?? TimeSpan.FromSeconds(5);

    /// <summary>Called once for each task that has ended (completed, failed, cancelled, never run), as polls see it.</summary>
    public Action<SlurmTaskStatus>? TaskEnded { get; init; }

    public SlurmRunResult Run(IReadOnlyList<SlurmArrayJob> stages, Action<SlurmSummary>? progress = null,
        CancellationToken cancel = default)
    {
        var monitor = new SlurmMonitor(client);
        try
        {
            foreach (var stage in stages)
            {
                cancel.ThrowIfCancellationRequested();
                var earlier = monitor.Submissions.Where(s => s.Stage != stage.Stage).Select(s => s.JobId);
                var job = stage with { AfterOk = [.. stage.AfterOk ?? [], .. earlier] };
                foreach (var submission in client.Submit(job))
                    monitor.Track(submission);
            }
            var failures = 0;
            var ended = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                try
                {
                    monitor.Poll();
                    failures = 0;
                }
                catch (SlurmException) when (++failures < PollFailureLimit)
                {
                    // Transient: the next poll asks again.
                }
                progress?.Invoke(monitor.Summary);
                foreach (var task in monitor.Tasks.Where(t => t.State.IsFinished() && ended.Add(t.TaskId)))
                {
                    try { TaskEnded?.Invoke(task); }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // Bookkeeping (the run journal) must not end the loop with the arrays still queued.
                        Console.Error.WriteLine($"warning: recording the end of Slurm task {task.JobId}: {e.Message}");
                    }
                }
                if (monitor.Finished)
                    return new SlurmRunResult(monitor.Tasks);
                // A site whose Slurm leaves never-satisfiable jobs pending despite --kill-on-invalid-dep: remove them.
                client.Cancel(monitor.Tasks
                    .Where(t => t.State == SlurmTaskState.DependencyNeverSatisfied && t.SlurmState == "PENDING")
                    .Select(t => t.JobId));
                cancel.WaitHandle.WaitOne(PollInterval);
                cancel.ThrowIfCancellationRequested();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SlurmException && monitor.Submissions.Count > 0)
        {
            // Nothing of an interrupted or broken run stays queued: its units are resubmitted by the next run.
            CancelUnfinished(monitor, e);
            throw;
        }
    }

    private void CancelUnfinished(SlurmMonitor monitor, Exception cause)
    {
        var open = monitor.Tasks.Where(t => !t.State.IsFinished()).Select(t => t.JobId).Distinct().ToList();
        try
        {
            client.Cancel(open);
        }
        catch (SlurmException e)
        {
            throw new SlurmException($"{cause.Message}\nCancelling the run's jobs failed too ({e.Message}); check with " +
                $"`squeue --jobs={string.Join(',', open)}` and cancel with `scancel {string.Join(' ', open)}`.");
        }
    }
}
