using System.Globalization;
using System.Text.RegularExpressions;
using Tta.Config;
using Tta.Core;

namespace Tta.Execution.Slurm;

/// <summary>
/// Submits job arrays with sbatch, lists their tasks with squeue, reads finished ones with scontrol and cancels with
/// scancel. Every job gets --kill-on-invalid-dep=yes: when a job it depends on fails, Slurm cancels it (reason
/// DependencyNeverSatisfied) instead of leaving it pending forever; and --no-requeue: a task whose node dies ends
/// NODE_FAIL and fails the run by name, rather than being started again on another node.
/// </summary>
public sealed partial class SlurmClient(SlurmCli cli, SlurmOptions? options = null)
{
    private int? _maxArrayTasks;

    public SlurmOptions Options { get; } = options ?? new SlurmOptions();

    /// <summary>
    /// Most tasks per array (the cluster's MaxArraySize, read once); a larger stage is split into several arrays.
    /// </summary>
    public int MaxArrayTasks
    {
        get => _maxArrayTasks ??= ReadMaxArraySize();
        init => _maxArrayTasks = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxArrayTasks));
    }

    /// <summary>
    /// Writes the task scripts into job.Directory and submits the stage as one array (several when it has more tasks
    /// than <see cref="MaxArrayTasks"/>). When a later part is refused, the parts already submitted are cancelled.
    /// </summary>
    public IReadOnlyList<SlurmSubmission> Submit(SlurmArrayJob job)
    {
        Validate(job);
        var directory = Path.GetFullPath(job.Directory);
        var workingDirectory = Path.GetFullPath(job.WorkingDirectory ?? Environment.CurrentDirectory);
        // Queued tasks read their scripts when they start, so scripts of an earlier submission are never rewritten.
        if (Directory.Exists(directory) && Directory.EnumerateFiles(directory, "task-*.sh").Any())
            throw new ArgumentException($"stage {job.Stage}: {directory} already holds task scripts of another " +
                "submission; give each job array its own directory (e.g. cache/.slurm/RUN/STAGE-N)", nameof(job));
        Directory.CreateDirectory(directory);
        for (var i = 0; i < job.Tasks.Count; i++)
            SlurmScripts.WriteTask(SlurmScripts.TaskScriptPath(directory, i), job.Tasks[i], workingDirectory);
        AtomicFile.WriteAllText(Path.Combine(directory, "tasks.tsv"),
            string.Concat(job.Tasks.Select((t, i) => $"task-{i}.sh\t{t.Key.ReplaceLineEndings(" ")}\n")));

        var submissions = new List<SlurmSubmission>();
        try
        {
            for (var offset = 0; offset < job.Tasks.Count; offset += MaxArrayTasks)
            {
                var count = Math.Min(MaxArrayTasks, job.Tasks.Count - offset);
                var script = Path.Combine(directory, $"array-{offset}.sh");
                SlurmScripts.WriteArray(script, directory, job.Stage, offset);
                var stdout = cli.Run("sbatch", SbatchArguments(job, count, script, directory, workingDirectory))
                    .ThrowOnFailure().Stdout;
                var tasks = job.Tasks.Skip(offset).Take(count).ToList();
                submissions.Add(new SlurmSubmission(SlurmOutput.ParseJobId(stdout), job.Stage, [.. tasks.Select(t => t.Key)], directory,
                    [.. tasks.Select(t => t.Units.Count)]));
            }
        }
        catch (SlurmException) when (submissions.Count > 0)
        {
            Cancel(submissions.Select(s => s.JobId));
            throw;
        }
        return submissions;
    }

    /// <summary>sbatch's arguments for one array of <paramref name="count"/> tasks running <paramref name="script"/>.</summary>
    public IReadOnlyList<string> SbatchArguments(SlurmArrayJob job, int count, string script, string logDirectory,
        string workingDirectory)
    {
        // In --output/--error, % starts a replacement (%A job id, %a task index); a literal % is written %%.
        var logs = Path.GetFullPath(logDirectory).Replace("%", "%%", StringComparison.Ordinal);
        var args = new List<string>
        {
            "--parsable",
            $"--job-name={job.JobName}",
            $"--array=0-{count - 1}",
            $"--chdir={workingDirectory}",
            $"--output={logs}/%A_%a.out",
            $"--error={logs}/%A_%a.err",
            "--kill-on-invalid-dep=yes",
            // A task whose node dies ends NODE_FAIL (the run names it and its node) instead of running again
            // elsewhere behind the run's back; the next run resubmits what is still stale.
            "--no-requeue",
        };
        if (job.MemoryMbPerTask is { } mb)
            args.Add(string.Create(CultureInfo.InvariantCulture, $"--mem={mb}M"));
        if (job.Gpu)
            args.Add("--gres=gpu:1");
        if (Options.Partition is { } partition)
            args.Add($"--partition={partition}");
        if (Options.Account is { } account)
            args.Add($"--account={account}");
        if (Options.TimeLimit is { } limit)
            args.Add($"--time={SlurmTimeLimit.Format(limit)}");
        if (job.AfterOk is { Count: > 0 } after)
            args.Add("--dependency=afterok:" + string.Join(':', after));
        args.Add(script);
        return args;
    }

    /// <summary>Every task of these arrays that the controller still holds (pending, running or recently finished).</summary>
    public IReadOnlyList<SlurmQueueEntry> Queue(IEnumerable<string> jobIds)
    {
        var ids = string.Join(',', jobIds);
        if (ids.Length == 0)
            return [];
        var result = cli.Run("squeue", ["--noheader", "--array", "--states=all", $"--jobs={ids}",
            $"--Format={SlurmOutput.QueueFormat}"]);
        // squeue fails when none of the ids is known any more; that is an empty answer, not an error.
        if (!result.Succeeded && result.InvalidJobId)
            return [];
        return SlurmOutput.ParseQueue(result.ThrowOnFailure().Stdout);
    }

    /// <summary>scontrol's records for a job, an array (every task) or one task (JOBID_INDEX); empty once purged.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> ShowJob(string jobId)
    {
        var result = cli.Run("scontrol", ["--oneliner", "show", "job", jobId]);
        if (!result.Succeeded && result.InvalidJobId)
            return [];
        return SlurmOutput.ParseRecords(result.ThrowOnFailure().Stdout);
    }

    /// <summary>scancel these jobs (array ids or JOBID_INDEX tasks). Jobs that already ended are not an error.</summary>
    public void Cancel(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Distinct().ToList();
        if (ids.Count == 0)
            return;
        var result = cli.Run("scancel", ids);
        if (!result.Succeeded && !result.InvalidJobId)
            result.ThrowOnFailure();
    }

    private int ReadMaxArraySize()
    {
        var config = cli.Run("scontrol", ["show", "config"]).ThrowOnFailure().Stdout;
        var value = SlurmOutput.ConfigValue(config, "MaxArraySize");
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0
            ? max
            : throw new SlurmException($"`scontrol show config` has no usable MaxArraySize ('{value}')");
    }

    private static void Validate(SlurmArrayJob job)
    {
        if (!StageName().IsMatch(job.Stage))
            throw new ArgumentException($"stage name '{job.Stage}' must be letters, digits, '.', '_' or '-'", nameof(job));
        if (job.Tasks.Count == 0)
            throw new ArgumentException($"stage {job.Stage}: a job array needs at least one task", nameof(job));
        var duplicate = job.Tasks.GroupBy(t => t.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"stage {job.Stage}: unit key '{duplicate.Key}' appears twice", nameof(job));
        var empty = job.Tasks.FirstOrDefault(t => t.Command.Count == 0 || t.Command[0].Length == 0);
        if (empty is not null)
            throw new ArgumentException($"stage {job.Stage}: unit '{empty.Key}' has no command", nameof(job));
        // sbatch turns off every %-replacement in a log path that holds a backslash, so logs would collide.
        if (job.Directory.Contains('\\', StringComparison.Ordinal))
            throw new ArgumentException($"stage {job.Stage}: the job directory '{job.Directory}' contains a backslash, " +
                "which sbatch's --output does not allow; choose a path without one", nameof(job));
        if (job.MemoryMbPerTask is <= 0)
            throw new ArgumentException($"stage {job.Stage}: memory per task must be positive, not {job.MemoryMbPerTask} MB",
                nameof(job));
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex StageName();
}
