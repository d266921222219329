using System.Diagnostics;
using Tta.Config;
using Tta.Execution.Slurm;

namespace Tta.Tests.Execution;

/// <summary>The Slurm client's pure parts: what it passes to sbatch, how it reads Slurm's output, how it reports.</summary>
public sealed class SlurmClientTests
{
    // A real `scontrol --oneliner show job` line from the test cluster (22.05), with a space put into two paths.
    private const string FailedTask = "JobId=4 ArrayJobId=1 ArrayTaskId=1 JobName=tst UserId=root(0) GroupId=root(0) " +
        "MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode " +
        "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:02 TimeLimit=UNLIMITED " +
        "Partition=debug AllocNode:Sid=localhost:8918 NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 " +
        "TRES=cpu=1,mem=123M,node=1,billing=1 Socks/Node=* MinMemoryNode=123M Command=/tmp/my jobs/a.sh " +
        "WorkDir=/tmp StdErr=/tmp/my jobs/1_1.err StdIn=/dev/null StdOut=/tmp/sx/1_1.out Power= KillOInInvalidDependent=Yes";

    [Fact]
    public void SbatchGetsEveryOptionAsItsOwnArgument()
    {
        var client = new SlurmClient(new SlurmCli(), new SlurmOptions("gpu part", "proj-1", TimeSpan.FromHours(2)));
        var job = new SlurmArrayJob("Extract", [new SlurmTask("k", ["x"])], "/shared/runs/50%", MemoryMbPerTask: 2048,
            Gpu: true, AfterOk: ["11", "12"]);
        Assert.Equal([
            "--parsable", "--job-name=tta-Extract", "--array=0-6", "--chdir=/work dir",
            "--output=/shared/runs/50%%/%A_%a.out", "--error=/shared/runs/50%%/%A_%a.err", "--kill-on-invalid-dep=yes",
            "--no-requeue", "--mem=2048M", "--gres=gpu:1", "--partition=gpu part", "--account=proj-1", "--time=0-02:00",
            "--dependency=afterok:11:12", "/shared/runs/50%/array-0.sh",
        ], client.SbatchArguments(job, 7, "/shared/runs/50%/array-0.sh", job.Directory, "/work dir"));

        var plain = client.SbatchArguments(job with { MemoryMbPerTask = null, Gpu = false, AfterOk = null }, 1, "s", "/l", "/w");
        Assert.DoesNotContain(plain, a => a.StartsWith("--mem", StringComparison.Ordinal) || a.StartsWith("--gres", StringComparison.Ordinal)
            || a.StartsWith("--dependency", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("stage one", "letters, digits")]
    [InlineData("", "letters, digits")]
    public void BadStageNamesAreRefusedBeforeAnythingIsWritten(string stage, string message)
    {
        var dir = Path.Combine(Repo.TempDir(), "never");
        var e = Assert.Throws<ArgumentException>(() =>
            new SlurmClient(new SlurmCli()).Submit(new SlurmArrayJob(stage, [new SlurmTask("k", ["x"])], dir)));
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void BadJobsAreRefusedWithTheUnitNamed()
    {
        var client = new SlurmClient(new SlurmCli());
        var dir = Repo.TempDir();
        Assert.Contains("'a' appears twice", Assert.Throws<ArgumentException>(() => client.Submit(new SlurmArrayJob("E",
            [new SlurmTask("a", ["x"]), new SlurmTask("a", ["y"])], dir))).Message);
        Assert.Contains("unit 'b' has no command", Assert.Throws<ArgumentException>(() => client.Submit(new SlurmArrayJob("E",
            [new SlurmTask("b", [])], dir))).Message);
        Assert.Contains("at least one task", Assert.Throws<ArgumentException>(() => client.Submit(new SlurmArrayJob("E", [], dir))).Message);
        Assert.Contains("backslash", Assert.Throws<ArgumentException>(() => client.Submit(new SlurmArrayJob("E",
            [new SlurmTask("c", ["x"])], dir + "/a\\b"))).Message);
        File.WriteAllText(Path.Combine(dir, "task-0.sh"), "");
        Assert.Contains("already holds task scripts", Assert.Throws<ArgumentException>(() => client.Submit(new SlurmArrayJob("E",
            [new SlurmTask("c", ["x"])], dir))).Message);
        Assert.Contains("-5 MB", Assert.Throws<ArgumentException>(() => client.Submit(new SlurmArrayJob("E",
            [new SlurmTask("c", ["x"])], dir, MemoryMbPerTask: -5))).Message);
    }

    [Fact]
    public void MissingToolIsAClearError()
    {
        var e = Assert.Throws<SlurmException>(() => new SlurmCli().Run("tta-no-such-sbatch", ["--version"]));
        Assert.Contains("tta-no-such-sbatch is not available", e.Message);
        Assert.Contains("submit host", e.Message);
    }

    [Fact]
    public void QuotedArgumentsReachAProgramUnchangedThroughBash()
    {
        string[] args = ["plain", "two words", "it's", "\"dq\"", "$HOME", "`id`", "a;b|c&d", "*", "back\\slash", "new\nline", "tab\t", "", "%A_%a", "-n"];
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("printf '%s\\0' " + string.Join(' ', args.Select(SlurmScripts.Quote)));
        using var p = Process.Start(start)!;
        var printed = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(args, printed.Split('\0')[..^1]);
        Assert.Equal("plain", SlurmScripts.Quote("plain"));
    }

    [Fact]
    public void TaskScriptRunsItsCommandInTheWorkingDirectory()
    {
        var dir = Repo.TempDir();
        var work = Path.Combine(dir, "work dir's");
        Directory.CreateDirectory(work);
        var script = SlurmScripts.TaskScriptPath(dir, 0);
        SlurmScripts.WriteTask(script, new SlurmTask("x/m/t\nsecond", ["/bin/sh", "-c", "pwd; echo \"$1\"", "sh", "a 'b'"]), work);
        SlurmScripts.WriteArray(Path.Combine(dir, "array-5.sh"), dir, "Extract", 5);
        Assert.Contains("# tta unit: x/m/t second\n", File.ReadAllText(script));
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(dir, "array-5.sh"));
        start.Environment["SLURM_ARRAY_TASK_ID"] = "-5"; // index -5 + offset 5 = task-0.sh
        using var p = Process.Start(start)!;
        Assert.Equal($"{work}\na 'b'\n", p.StandardOutput.ReadToEnd());
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void ParsesSbatchSqueueAndScontrolOutput()
    {
        Assert.Equal("123", SlurmOutput.ParseJobId("123\n"));
        Assert.Equal("77", SlurmOutput.ParseJobId("77;cluster-a\n"));
        Assert.Throws<SlurmException>(() => SlurmOutput.ParseJobId("sbatch: error: nope"));

        var queue = SlurmOutput.ParseQueue("2|0|CANCELLED|DependencyNeverSatisfied|\n1|1|FAILED|NonZeroExitCode|\n5|0-2%1|PENDING|Resources|\n");
        Assert.Equal([
            new SlurmQueueEntry("2", 0, "CANCELLED", "DependencyNeverSatisfied"),
            new SlurmQueueEntry("1", 1, "FAILED", "NonZeroExitCode"),
            new SlurmQueueEntry("5", 0, "PENDING", "Resources"),
            new SlurmQueueEntry("5", 1, "PENDING", "Resources"),
            new SlurmQueueEntry("5", 2, "PENDING", "Resources"),
        ], queue);
        Assert.Equal([1, 4, 5, 6, 9], SlurmOutput.ExpandIndices("1,4-6,9"));
        // With the node list (SlurmOutput.QueueFormat): a running task names its node, a pending one none.
        Assert.Equal([new SlurmQueueEntry("8", 3, "RUNNING", "None", "node2"), new SlurmQueueEntry("8", 4, "PENDING", "Resources")],
            SlurmOutput.ParseQueue("8|3|RUNNING|None|node2|\n8|4|PENDING|Resources||\n"));
        Assert.Throws<SlurmException>(() => SlurmOutput.ParseQueue("1|x|PENDING|None|"));

        var record = SlurmOutput.ParseRecords(FailedTask + "\n").Single();
        Assert.Equal("FAILED", record["JobState"]);
        Assert.Equal("3:0", record["ExitCode"]);
        Assert.Equal("/tmp/my jobs/1_1.err", record["StdErr"]);
        Assert.Equal("/tmp/my jobs/a.sh", record["Command"]);
        Assert.Equal("vm", SlurmOutput.NodeOf(record));
        Assert.Equal("node3", SlurmOutput.NodeOf(new Dictionary<string, string> { ["BatchHost"] = "(null)", ["NodeList"] = "node3" }));
        Assert.Equal("", SlurmOutput.NodeOf(new Dictionary<string, string> { ["NodeList"] = "(null)" }));
        Assert.Equal("cpu=1,mem=123M,node=1,billing=1", record["TRES"]);
        Assert.Equal("localhost:8918", record["AllocNode:Sid"]);
        Assert.Equal("", record["Power"]);
        Assert.Equal((3, 0), SlurmOutput.ParseExitCode(record["ExitCode"]));
        Assert.Equal((0, 9), SlurmOutput.ParseExitCode("0:9"));
        Assert.Null(SlurmOutput.ParseExitCode(null));
        Assert.Equal("1001", SlurmOutput.ConfigValue("Configuration data as of x\nMaxArraySize            = 1001\nMaxJobCount = 10000\n", "MaxArraySize"));
    }

    [Theory]
    [InlineData("PENDING", "Dependency", SlurmTaskState.Pending)]
    [InlineData("PENDING", "DependencyNeverSatisfied", SlurmTaskState.DependencyNeverSatisfied)]
    [InlineData("CANCELLED", "DependencyNeverSatisfied", SlurmTaskState.DependencyNeverSatisfied)]
    [InlineData("CANCELLED by 0", "None", SlurmTaskState.Cancelled)]
    [InlineData("RUNNING", "None", SlurmTaskState.Running)]
    [InlineData("COMPLETING", "None", SlurmTaskState.Running)]
    [InlineData("REQUEUED", "None", SlurmTaskState.Pending)]
    [InlineData("COMPLETED", "None", SlurmTaskState.Completed)]
    [InlineData("FAILED", "NonZeroExitCode", SlurmTaskState.Failed)]
    [InlineData("BOOT_FAIL", "None", SlurmTaskState.Failed)]
    [InlineData("TIMEOUT", "TimeLimit", SlurmTaskState.Timeout)]
    [InlineData("OUT_OF_MEMORY", "OutOfMemory", SlurmTaskState.OutOfMemory)]
    [InlineData("NODE_FAIL", "None", SlurmTaskState.NodeFail)]
    [InlineData("SOME_NEW_STATE", "None", SlurmTaskState.Running)]
    public void MapsSlurmStates(string state, string reason, SlurmTaskState expected) =>
        Assert.Equal(expected, SlurmStates.FromSlurm(state, reason));

    [Theory]
    [InlineData("90", 0, 1, 30, 0)]
    [InlineData("90:30", 0, 1, 30, 30)]
    [InlineData("2:00:00", 0, 2, 0, 0)]
    [InlineData("1-12", 1, 12, 0, 0)]
    [InlineData("1-12:30", 1, 12, 30, 0)]
    [InlineData(" 3-00:00:05 ", 3, 0, 0, 5)]
    public void ReadsSlurmTimeLimits(string text, int days, int hours, int minutes, int seconds) =>
        Assert.Equal(new TimeSpan(days, hours, minutes, seconds), SlurmTimeLimit.Parse(text, "--time"));

    [Theory]
    [InlineData("2h")]
    [InlineData("1:2:3:4")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("")]
    public void BadTimeLimitNamesTheSettingAndTheFormats(string text)
    {
        var e = Assert.Throws<FormatException>(() => SlurmTimeLimit.Parse(text, "experiments/x.yaml:4:9 executor.time"));
        Assert.StartsWith($"experiments/x.yaml:4:9 executor.time: time limit '{text}'", e.Message);
    }

    [Fact]
    public void TimeLimitsAreWrittenInWholeMinutesRoundedUp()
    {
        Assert.Equal("0-00:02", SlurmTimeLimit.Format(TimeSpan.FromSeconds(90)));
        Assert.Equal("2-03:04", SlurmTimeLimit.Format(new TimeSpan(2, 3, 4, 0)));
        Assert.Equal("100-00:00", SlurmTimeLimit.Format(TimeSpan.FromDays(100)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SlurmTimeLimit.Format(TimeSpan.Zero));
    }

    [Fact]
    public void SummaryCountsEachStageAndFailuresNameTheirUnitAndLogs()
    {
        var s = new SlurmSubmission("40", "Extract", ["a", "b", "c", "d"], "/logs");
        var m = new SlurmSubmission("41", "Metrics", ["e"], "/logs");
        SlurmTaskStatus[] tasks = [
            s.Queued(0) with { State = SlurmTaskState.Completed, SlurmState = "COMPLETED", ExitCode = 0 },
            s.Queued(1) with { State = SlurmTaskState.Running, SlurmState = "RUNNING" },
            s.Queued(2) with { State = SlurmTaskState.OutOfMemory, SlurmState = "OUT_OF_MEMORY", ExitCode = 0, Signal = 9 },
            s.Queued(3),
            m.Queued(0) with { State = SlurmTaskState.DependencyNeverSatisfied, SlurmState = "CANCELLED" },
        ];
        var summary = SlurmSummary.From(tasks);
        Assert.Equal("slurm: Extract 1 queued, 1 running, 1/4 done, 1 failed | Metrics 0 queued, 0 running, 0/1 done, 1 failed",
            summary.ToString());
        Assert.Equal(SlurmSummary.From(tasks), summary);

        var result = new SlurmRunResult(tasks);
        Assert.False(result.Succeeded);
        Assert.Equal("Extract c: OUT_OF_MEMORY, signal 9 (job 40_2); log: /logs/40_2.err, /logs/40_2.out\n" +
            "Metrics e: CANCELLED, not run: a job it depends on failed (job 41_0)", result.Report());
        Assert.Equal("Extract a: Lost, no longer known to the controller (MinJobAge passed before it was seen to finish) " +
            "(job 40_0); log: /logs/40_0.err, /logs/40_0.out", (s.Queued(0) with { State = SlurmTaskState.Lost }).Describe());
        Assert.Equal("Extract b: NODE_FAIL on node2, the node stopped answering and the unit was lost with it (job 40_1); " +
            "log: /logs/40_1.err, /logs/40_1.out",
            (s.Queued(1) with { State = SlurmTaskState.NodeFail, SlurmState = "NODE_FAIL", ExitCode = 0, Node = "node2" }).Describe());
    }

    [Fact]
    public void TheSummaryCountsUnitsWhenTasksBuildGroupsOfThem()
    {
        // 20 units in 4 tasks of 5: one done, one running, one failed, one queued.
        var s = new SlurmSubmission("40", "Extract", ["a", "b", "c", "d"], "/logs", [5, 5, 5, 5]);
        SlurmTaskStatus[] tasks = [
            s.Queued(0) with { State = SlurmTaskState.Completed },
            s.Queued(1) with { State = SlurmTaskState.Running },
            s.Queued(2) with { State = SlurmTaskState.Failed },
            s.Queued(3),
        ];
        Assert.Equal("slurm: Extract 5 queued, 5 running, 5/20 done, 5 failed (4 tasks)", SlurmSummary.From(tasks).ToString());
    }

    [Fact]
    public void ProgressIsOneLiveLineOnATerminalAndThrottledPlainLinesInLogs()
    {
        var s = new SlurmSubmission("40", "Extract", ["a", "b"], "/logs");
        var queued = SlurmSummary.From([s.Queued(0), s.Queued(1)]);
        var running = SlurmSummary.From([s.Queued(0) with { State = SlurmTaskState.Running }, s.Queued(1)]);
        var failed = SlurmSummary.From([s.Queued(0) with { State = SlurmTaskState.Failed }, s.Queued(1)]);
        var done = SlurmSummary.From([s.Queued(0) with { State = SlurmTaskState.Failed }, s.Queued(1) with { State = SlurmTaskState.Completed }]);

        var terminal = new StringWriter { NewLine = "\n" };
        var live = new SlurmProgressWriter(terminal, live: true);
        live.Report(queued);
        live.Report(queued);
        live.Report(running);
        live.Finish(done);
        Assert.Equal($"\r\u001b[2K{queued}\r\u001b[2K{running}\r\u001b[2K{done}\n", terminal.ToString());

        var log = new StringWriter { NewLine = "\n" };
        var clock = new ManualClock();
        var plain = new SlurmProgressWriter(log, live: false, TimeSpan.FromSeconds(30), clock);
        plain.Report(queued);          // first: written
        clock.Advance(10);
        plain.Report(running);         // changed, but within 30 s: held back
        plain.Report(failed);          // a new failure: written at once
        clock.Advance(40);
        plain.Report(failed);          // unchanged: not repeated
        plain.Finish(done);            // the end: always written
        Assert.Equal($"{queued}\n{failed}\n{done}\n", log.ToString());
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public void Advance(double seconds) => _now += TimeSpan.FromSeconds(seconds);

        public override DateTimeOffset GetUtcNow() => _now;
    }
}
