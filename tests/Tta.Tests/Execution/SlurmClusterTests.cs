using System.Diagnostics;
using System.Globalization;
using Tta.Config;
using Tta.Execution.Slurm;
using Xunit.Abstractions;

namespace Tta.Tests.Execution;

/// <summary>The Slurm client and runner against the real single-node cluster (tests/slurm/cluster.sh).</summary>
[Trait("Lane", "Full")]
[Collection("slurm")]
public sealed class SlurmClusterTests(SlurmCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private SlurmClient Client(SlurmOptions? options = null) => new(cluster.Cli, options);

    private static SlurmTask Shell(string key, string script) => new(key, ["/bin/sh", "-c", script]);

    private SlurmRunResult Run(params SlurmArrayJob[] stages)
    {
        var sw = Stopwatch.StartNew();
        var result = new SlurmRunner(Client(), Poll).Run(stages, s => output.WriteLine($"{sw.Elapsed.TotalSeconds,5:0.0} s {s}"));
        output.WriteLine($"run took {sw.Elapsed.TotalSeconds:0.0} s");
        return result;
    }

    /// <summary>Polls until every tracked task has ended (or a condition holds).</summary>
    private static void PollUntil(SlurmMonitor monitor, Func<IReadOnlyList<SlurmTaskStatus>, bool> done)
    {
        var sw = Stopwatch.StartNew();
        while (!done(monitor.Poll()))
        {
            Assert.True(sw.Elapsed < Patience, "Slurm did not get there in time: " + monitor.Summary);
            Thread.Sleep(Poll);
        }
    }

    [Fact]
    public void ArrayOfThreeCommandsCompletesAndEachTaskGetsItsArgumentsUnchanged()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        const string awkward = "it's \"quoted\" $HOME `id` ; * \\ %A\nsecond line";
        var result = Run(new SlurmArrayJob("Extract", [
            new SlurmTask("e/m/zero", ["/bin/echo", "hello zero"]),
            new SlurmTask("e/m/one it's", ["/usr/bin/printf", "%s", awkward]),
            Shell("e/m/two", "echo task $SLURM_ARRAY_TASK_ID in $(pwd)"),
        ], dir, WorkingDirectory: dir));

        Assert.True(result.Succeeded, result.Report());
        Assert.Equal(["e/m/zero", "e/m/one it's", "e/m/two"], result.Tasks.Select(t => t.Key));
        Assert.All(result.Tasks, t => Assert.Equal((SlurmTaskState.Completed, 0), (t.State, t.ExitCode)));
        Assert.Equal("hello zero\n", File.ReadAllText(result.Tasks[0].StdoutPath));
        Assert.Equal(awkward, File.ReadAllText(result.Tasks[1].StdoutPath));
        Assert.Equal($"task 2 in {dir}\n", File.ReadAllText(result.Tasks[2].StdoutPath));
        Assert.All(result.Tasks, t => Assert.Equal("", File.ReadAllText(t.StderrPath)));
        // The per-task scripts stay for rerunning one unit by hand.
        Assert.Contains("# tta unit: e/m/one it's", File.ReadAllText(Path.Combine(dir, "task-1.sh")));
    }

    [Fact]
    public void ArraysOfOneStageRunSideBySideAndTheNextStageWaitsForThemAll()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        var client = Client();
        // Two Extract arrays (units with different --mem) each wait for the other's marker, so they must run at
        // once; then they sleep before writing, so a Metrics stage that did not wait for both would find no files.
        string Meet(string me, string other) =>
            $"touch {dir}/here-{me}; for i in $(seq 300); do [ -e {dir}/here-{other} ] && break; sleep 0.1; done; " +
            $"[ -e {dir}/here-{other} ] || exit 1; sleep 2; echo {me} > {dir}/{me}";
        var result = Run(
            new SlurmArrayJob("Extract", [Shell("a", Meet("a", "b"))], Path.Combine(dir, "extract-0"), MemoryMbPerTask: 200),
            new SlurmArrayJob("Extract", [Shell("b", Meet("b", "a"))], Path.Combine(dir, "extract-1"), MemoryMbPerTask: 300),
            new SlurmArrayJob("Metrics", [Shell("c", $"cat {dir}/a {dir}/b > {dir}/c")], Path.Combine(dir, "metrics")));

        Assert.True(result.Succeeded, result.Report());
        Assert.Equal("a\nb\n", File.ReadAllText(Path.Combine(dir, "c")));
        var extractEnd = result.Tasks.Where(t => t.Stage == "Extract").Max(t => Time(client, t.TaskId, "EndTime"));
        Assert.True(Time(client, result.Tasks.Single(t => t.Stage == "Metrics").TaskId, "StartTime") >= extractEnd);
        Assert.Equal("slurm: Extract 0 queued, 0 running, 2/2 done, 0 failed | Metrics 0 queued, 0 running, 1/1 done, 0 failed",
            SlurmSummary.From(result.Tasks).ToString());
    }

    [Fact]
    public void FailedTaskIsReportedWithKeyExitCodeAndLogAndItsDependentsNeverRun()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        var result = Run(
            new SlurmArrayJob("Extract", [
                Shell("x/minilm/good", "echo fine"),
                Shell("x/minilm/bad", "echo boom >&2; exit 3"),
            ], Path.Combine(dir, "extract")),
            new SlurmArrayJob("Metrics", [Shell("x/minilm/after", $"touch {dir}/ran")], Path.Combine(dir, "metrics")));

        output.WriteLine(result.Report());
        Assert.False(result.Succeeded);
        Assert.Equal(SlurmTaskState.Completed, result.Tasks[0].State);
        var bad = result.Failures[0];
        Assert.Equal(("x/minilm/bad", SlurmTaskState.Failed, 3, "FAILED"), (bad.Key, bad.State, bad.ExitCode, bad.SlurmState));
        Assert.Equal("boom\n", File.ReadAllText(bad.StderrPath));
        Assert.Contains($"Extract x/minilm/bad: FAILED, exit code 3 (job {bad.TaskId}); log: {bad.StderrPath}", bad.Describe());
        var after = result.Failures[1];
        Assert.Equal(("x/minilm/after", SlurmTaskState.DependencyNeverSatisfied), (after.Key, after.State));
        Assert.Contains("not run: a job it depends on failed", after.Describe());
        Assert.Equal(2, result.Failures.Count);
        Assert.False(File.Exists(Path.Combine(dir, "ran")));
        // Slurm removed the dependent itself (--kill-on-invalid-dep=yes): nothing of the run is left queued.
        Assert.Equal("CANCELLED", Client().ShowJob(after.JobId).Single()["JobState"]);
    }

    [Fact]
    public void ScancelOfOneRunningTaskIsSeenAsCancelled()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        var client = Client();
        var wait = $"touch {dir}/started-$SLURM_ARRAY_TASK_ID; for i in $(seq 600); do [ -e {dir}/release ] && exit 0; sleep 0.1; done; exit 9";
        var monitor = new SlurmMonitor(client);
        foreach (var s in client.Submit(new SlurmArrayJob("Extract", [Shell("keep", wait), Shell("victim", wait)], dir)))
            monitor.Track(s);
        PollUntil(monitor, tasks => tasks.All(t => t.State == SlurmTaskState.Running));

        Run("scancel", monitor.Tasks[1].TaskId);
        File.WriteAllText(Path.Combine(dir, "release"), "");
        PollUntil(monitor, _ => monitor.Finished);

        Assert.Equal(SlurmTaskState.Completed, monitor.Tasks[0].State);
        var victim = monitor.Tasks[1];
        Assert.Equal((SlurmTaskState.Cancelled, "CANCELLED"), (victim.State, victim.SlurmState));
        Assert.Contains("Extract victim: CANCELLED", victim.Describe());
        Assert.Equal(new SlurmStageCounts("Extract", 0, 0, 1, 1, Tasks: 2), monitor.Summary.Stages.Single());

        void Run(string tool, params string[] args) => cluster.Cli.Run(tool, args).ThrowOnFailure();
    }

    [Fact]
    public void MemoryGpuPartitionAccountAndTimeReachTheJob()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        var client = Client(new SlurmOptions("debug", "tta-account", SlurmTimeLimit.Parse("1-02:03:04", "--time")));
        var submission = client.Submit(new SlurmArrayJob("Extract", [Shell("k", "true")], dir, MemoryMbPerTask: 123, Gpu: true))
            .Single();
        var job = client.ShowJob(submission.JobId).First();
        foreach (var (key, value) in job.Where(kv => kv.Key is "MinMemoryNode" or "Partition" or "Account" or "TimeLimit" or "TresPerNode" or "JobName"))
            output.WriteLine($"{key}={value}");
        Assert.Equal("123M", job["MinMemoryNode"]);
        Assert.Contains("mem=123M", job["TRES"]);
        Assert.Equal("gres:gpu:1", job["TresPerNode"]);
        Assert.Equal("debug", job["Partition"]);
        Assert.Equal("tta-account", job["Account"]);
        Assert.Equal("1-02:04:00", job["TimeLimit"]); // whole minutes, rounded up
        Assert.Equal("tta-Extract", job["JobName"]);
        var monitor = new SlurmMonitor(client);
        monitor.Track(submission);
        PollUntil(monitor, _ => monitor.Finished);
        Assert.Equal(SlurmTaskState.Completed, monitor.Tasks.Single().State);
    }

    [Fact]
    public void TwoTasksOfAnArrayRunAtOnceUnderTheDefaultMemoryPerCpu()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        // Each task waits for the other's marker: run one at a time, the first gives up after 30 s and fails.
        var meet = $"touch {dir}/here-$SLURM_ARRAY_TASK_ID; for i in $(seq 300); do [ -e {dir}/here-$((1 - SLURM_ARRAY_TASK_ID)) ] && exit 0; sleep 0.1; done; exit 1";
        var result = Run(new SlurmArrayJob("Metrics", [Shell("m0", meet), Shell("m1", meet)], dir));
        Assert.True(result.Succeeded, result.Report());
        Assert.Equal("100M", Client().ShowJob(result.Tasks[0].TaskId).Single()["MinMemoryCPU"]);
    }

    [Fact]
    public void StageLargerThanTheArrayLimitIsSplitIntoSeveralArrays()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        var client = new SlurmClient(cluster.Cli) { MaxArrayTasks = 2 };
        var submissions = client.Submit(new SlurmArrayJob("Figures",
            [.. Enumerable.Range(0, 3).Select(i => new SlurmTask($"f{i}", ["/bin/echo", $"unit {i}"]))], dir));
        Assert.Equal([["f0", "f1"], ["f2"]], submissions.Select(s => s.Keys));
        var monitor = new SlurmMonitor(client);
        foreach (var s in submissions)
            monitor.Track(s);
        PollUntil(monitor, _ => monitor.Finished);
        Assert.All(monitor.Tasks, t => Assert.Equal(SlurmTaskState.Completed, t.State));
        Assert.Equal(["unit 0\n", "unit 1\n", "unit 2\n"], monitor.Tasks.Select(t => File.ReadAllText(t.StdoutPath)));
        Assert.Equal(new SlurmStageCounts("Figures", 0, 0, 3, 0, Tasks: 3), monitor.Summary.Stages.Single());
    }

    [Fact]
    public void CancellingARunScancelsItsJobs()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        using var cancel = new CancellationTokenSource();
        var started = Path.Combine(dir, "started");
        var runner = new SlurmRunner(Client(), Poll);
        var run = Task.Run(() => runner.Run([
            new SlurmArrayJob("Extract", [Shell("slow", $"touch {started}; sleep 120")], Path.Combine(dir, "e")),
            new SlurmArrayJob("Metrics", [Shell("next", "true")], Path.Combine(dir, "m")),
        ], cancel: cancel.Token));
        var sw = Stopwatch.StartNew();
        while (!File.Exists(started))
        {
            Assert.True(sw.Elapsed < Patience && !run.IsCompleted, "the first task did not start");
            Thread.Sleep(Poll);
        }
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => run.GetAwaiter().GetResult());

        var ids = Directory.GetFiles(Path.Combine(dir, "e"), "*.out").Select(f => Path.GetFileName(f).Split('_')[0]).ToList();
        var client = Client();
        // Cancelled jobs pass through COMPLETING while slurmd stops their processes.
        sw.Restart();
        while (client.ShowJob(ids.Single()).Single()["JobState"] == "COMPLETING" && sw.Elapsed < Patience)
            Thread.Sleep(Poll);
        Assert.Equal("CANCELLED", client.ShowJob(ids.Single()).Single()["JobState"]);
        var queue = cluster.Cli.Run("squeue", ["--noheader", "--states=PENDING,RUNNING", "--Format=JobID"]).ThrowOnFailure().Stdout;
        Assert.Equal("", queue.Trim());
    }

    [Fact]
    public void RefusedSubmissionIsAnErrorWithSlurmsReasonAndLeavesNothingOfTheRunQueued()
    {
        if (!cluster.Check(output))
            return;
        var dir = Repo.TempDir();
        var e = Assert.Throws<SlurmException>(() => new SlurmClient(cluster.Cli, new SlurmOptions(Partition: "no-such-partition"))
            .Submit(new SlurmArrayJob("Extract", [Shell("k", "true")], dir)));
        output.WriteLine(e.Message);
        Assert.Contains("`sbatch", e.Message);
        Assert.Contains("--partition=no-such-partition", e.Message);
        Assert.Contains("invalid partition", e.Message, StringComparison.OrdinalIgnoreCase);

        // The first stage is accepted, the second asks for more memory than the node has: the run cancels the first.
        var runner = new SlurmRunner(Client(), Poll);
        var big = Assert.Throws<SlurmException>(() => runner.Run([
            new SlurmArrayJob("Extract", [Shell("small", "sleep 60")], Path.Combine(dir, "e")),
            new SlurmArrayJob("Metrics", [Shell("huge", "true")], Path.Combine(dir, "m"), MemoryMbPerTask: 100_000_000),
        ]));
        output.WriteLine(big.Message);
        Assert.Contains("--mem=100000000M", big.Message);
        var queue = cluster.Cli.Run("squeue", ["--noheader", "--states=PENDING,RUNNING", "--Format=JobID"]).ThrowOnFailure().Stdout;
        Assert.Equal("", queue.Trim());
    }

    private static DateTime Time(SlurmClient client, string taskId, string field) =>
        DateTime.ParseExact(client.ShowJob(taskId).Single()[field], "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
}
