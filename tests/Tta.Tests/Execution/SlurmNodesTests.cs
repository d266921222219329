using System.Diagnostics;
using System.Globalization;
using Tta.Cache;
using Tta.Execution.Slurm;
using Tta.Metrics;
using Xunit.Abstractions;

namespace Tta.Tests.Execution;

/// <summary>Every test of the multi-node cluster shares one start and stop of it.</summary>
[CollectionDefinition("slurm-nodes")]
public sealed class SlurmNodesCollection : ICollectionFixture<SlurmNodes>;

/// <summary>
/// tta on a Slurm cluster of three nodes, each slurmd in its own network namespace (tests/slurm/multinode.sh), the
/// run itself in the controller's: the tasks of one array run on different nodes and give the bytes of a local run;
/// a node killed under a running task fails the run naming the unit and the node, and the next run builds only what
/// is missing; stopping the cluster leaves no process, namespace or link. The nodes share the cache through this
/// machine's filesystem, as an NFS mount would give it.
/// </summary>
[Trait("Lane", "Full")]
[Collection("slurm-nodes")]
public sealed class SlurmNodesTests(SlurmNodes cluster, ITestOutputHelper output)
{
    private const string Poll = "--poll-seconds=0.5";

    /// <summary>One model, three texts (so each array has three tasks), built locally once as the reference.</summary>
    private static readonly Lazy<(TinyWorkspace Workspace, SortedDictionary<string, string> Local)> Reference = new(() =>
    {
        var ws = new TinyWorkspace();
        ws.WriteExperiment(TinyWorkspace.NameAndModel + """
            texts:
              - name: one
                file: texts/one.txt
              - name: two
                text: "a dog ran to the park!"
              - name: three
                text: "the mat sat on the cat, and a dog ran."
            figures:
              formats: [png]
              cell_pixels: 4
            """);
        var (code, log) = TtaProcess.Run(TtaProcess.Cli(RunArgs(ws, "local", "--jobs=2")), TimeSpan.FromMinutes(3));
        Assert.True(code == 0, log);
        return (ws, Outputs(ws, "local"));
    });

    private static string[] RunArgs(TinyWorkspace ws, string name, params string[] extra) =>
        ws.Args("run", ["--stage=Download", "--through=Figures", $"--cache={Path.Combine(ws.Root, name, "cache")}",
            $"--figures={Path.Combine(ws.Root, name, "figures")}", .. extra]);

    private static SortedDictionary<string, string> Outputs(TinyWorkspace ws, string name) =>
        ScaleOutTests.Outputs(Path.Combine(ws.Root, name, "cache"), Path.Combine(ws.Root, name, "figures"));

    /// <summary>
    /// A Slurm run of the reference experiment into its own cache, submitted from the controller's namespace; one unit
    /// per task (--group-size=1), so the tasks of an array have units to spread over the nodes.
    /// </summary>
    private ProcessStartInfo SlurmRun(string name, params string[] extra) =>
        cluster.InController("dotnet", [TtaProcess.CliDll, .. RunArgs(Reference.Value.Workspace, name, ["--executor=slurm", "--group-size=1", Poll, .. extra])]);

    private (int Code, string Log) Finish(string what, ProcessStartInfo start)
    {
        var sw = Stopwatch.StartNew();
        var (code, log) = TtaProcess.Run(start, TimeSpan.FromMinutes(3));
        output.WriteLine($"{what}: exit {code} in {sw.Elapsed.TotalSeconds:0.0} s\n{log}");
        return (code, log);
    }

    /// <summary>The node of every task a run submitted (array logs JOBID_INDEX.out under cache/.slurm), by stage.</summary>
    private List<(string Stage, string Task, string Node)> TaskNodes(string name)
    {
        var logs = Directory.EnumerateFiles(Path.Combine(Reference.Value.Workspace.Root, name, "cache", WorkspaceCleaner.SlurmFolder), "*.out", SearchOption.AllDirectories);
        var result = new List<(string, string, string)>();
        foreach (var array in logs.GroupBy(f => (Stage: Path.GetFileName(Path.GetDirectoryName(f))!, Job: Path.GetFileName(f).Split('_')[0])))
            foreach (var record in SlurmOutput.ParseRecords(cluster.Tool("scontrol", "--oneliner", "show", "job", array.Key.Job)))
                result.Add((array.Key.Stage, $"{record["ArrayJobId"]}_{record["ArrayTaskId"]}", SlurmOutput.NodeOf(record)));
        foreach (var (stage, task, node) in result)
            output.WriteLine($"{stage} {task}: {node}");
        return result;
    }

    private static void AssertSameBytes(SortedDictionary<string, string> local, SortedDictionary<string, string> theirs) =>
        ScaleOutTests.AssertSameBytes(local, theirs, "the local run");

    [Fact]
    public void TasksOfOneArraySpreadOverNodesAndGiveTheBytesOfALocalRun()
    {
        if (!cluster.Check(output)) return;
        var (ws, local) = Reference.Value;
        var (code, log) = Finish("slurm run", SlurmRun("spread"));
        Assert.True(code == 0, log);
        Assert.Contains("Extract: 3 unit(s) to submit", log);

        var nodes = TaskNodes("spread");
        var extract = nodes.Where(t => t.Stage == "Extract").ToList();
        Assert.Equal(3, extract.Count);
        Assert.All(nodes, t => Assert.Contains(t.Node, SlurmNodes.Nodes));
        // One CPU per node: the three tasks of the Extract array ran on at least two of the nodes.
        Assert.True(extract.Select(t => t.Node).Distinct().Count() >= 2, string.Join(", ", extract));

        // 3 activation and 3 similarity files, and their figures.
        Assert.Equal(6, local.Keys.Count(k => k.EndsWith(".parquet", StringComparison.Ordinal)));
        AssertSameBytes(local, Outputs(ws, "spread"));
    }

    [Fact]
    public async Task ANodeKilledUnderARunningTaskFailsTheRunNamingUnitAndNodeAndTheRerunBuildsOnlyWhatIsMissing()
    {
        if (!cluster.Check(output)) return;
        var (ws, local) = Reference.Value;
        var cache = Path.Combine(ws.Root, "lost", "cache");
        using var context = new RunContext(Workspace.At(ws.Root), [Tta.Config.ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings)], TextWriter.Null);
        var two = Tta.Execution.UnitGraph.For(context).Find("Extract:tiny/tiny/two");
        string node;
        (int Code, string Log) first;
        // Holding text two's unit lock keeps its task running (it waits for "another run that is building this unit")
        // on whichever node it got, for as long as the test needs: that node is killed under it.
        using (UnitLock.Acquire(cache, two, [], TextWriter.Null))
        {
            using var run = Process.Start(SlurmRun("lost"))!;
            var stdout = run.StandardOutput.ReadToEndAsync();
            var stderr = run.StandardError.ReadToEndAsync();
            var waiting = WaitForWaitingTask(cache, run);
            var task = Path.GetFileNameWithoutExtension(waiting);
            node = SlurmOutput.NodeOf(SlurmOutput.ParseRecords(cluster.Tool("scontrol", "--oneliner", "show", "job", task)).Single());
            output.WriteLine($"task {task} of {two.Id} waits on {node}; killing {node}");
            Assert.Contains(node, SlurmNodes.Nodes);
            output.WriteLine(cluster.Run("kill-node", node["node".Length..]));
            Assert.True(run.WaitForExit(TimeSpan.FromMinutes(2)), "the run did not end after its node was killed");
            first = (run.ExitCode, await stdout + await stderr);
            output.WriteLine($"run with a lost node: exit {first.Code}\n{first.Log}");
        }
        Assert.NotEqual(0, first.Code);
        Assert.Contains("1 unit(s) failed on Slurm", first.Log);
        Assert.Single(first.Log.Split('\n'), l => l.StartsWith($"Extract {two.Id}: NODE_FAIL on {node}, the node stopped answering", StringComparison.Ordinal));
        // Its dependents never ran; the other texts' Extract units completed on the other nodes.
        Assert.Contains("not run: a job it depends on failed", first.Log);
        Assert.DoesNotContain(": FAILED", first.Log);

        var firstTasks = TaskNodes("lost").Select(t => t.Task).ToHashSet(StringComparer.Ordinal);

        // The node stays down: the rerun submits text two's Extract (nothing of it was kept) and what depends on it,
        // and its tasks go to the other nodes.
        var (code, again) = Finish("rerun", SlurmRun("lost", "--explain"));
        Assert.True(code == 0, again);
        Assert.Contains("Extract: 1 unit(s) to submit", again);
        Assert.Contains($"Extract {two.Key}: stale", again);
        Assert.Contains("Extract tiny/tiny/one: up to date", again);
        Assert.Contains("Extract tiny/tiny/three: up to date", again);
        var rerun = TaskNodes("lost").Where(t => t.Stage == "Extract" && !firstTasks.Contains(t.Task)).ToList();
        Assert.NotEmpty(rerun);
        Assert.DoesNotContain(rerun, t => t.Node == node);
        AssertSameBytes(local, Outputs(ws, "lost"));

        // The killed node comes back with `start` (its slurmd registers again and is resumed).
        output.WriteLine(cluster.Run("start"));
        Assert.Contains($"{node} idle", cluster.Run("status"));
    }

    /// <summary>The stdout log of the Extract task that waits for the held unit lock.</summary>
    private static string WaitForWaitingTask(string cache, Process run)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromMinutes(2) && !run.HasExited)
        {
            var slurm = Path.Combine(cache, WorkspaceCleaner.SlurmFolder);
            var found = Directory.Exists(slurm)
                ? Directory.EnumerateFiles(slurm, "*.out", SearchOption.AllDirectories)
                    .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == "Extract")
                    .FirstOrDefault(f => File.ReadAllText(f).Contains("waiting for another run that is building this unit", StringComparison.Ordinal))
                : null;
            if (found is not null) return found;
            Thread.Sleep(200);
        }
        Assert.Fail($"no Extract task was seen waiting for the held unit lock (run exited: {run.HasExited})");
        return "";
    }

    [Fact]
    public void StopLeavesNoProcessNamespaceOrLink()
    {
        if (!cluster.Check(output)) return;
        var before = SlurmNodes.Leftovers();
        output.WriteLine(before);
        var pids = before.Split('\n').Where(l => l.StartsWith("namespace ", StringComparison.Ordinal))
            .SelectMany(l => l.Split("pids ", 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();
        // munged and slurmctld in the controller's namespace, a slurmd in each node's.
        Assert.True(pids.Count >= 5, before);
        Assert.Contains("link ttan-br", before);
        try
        {
            cluster.Run("stop");
            Assert.Equal("", SlurmNodes.Leftovers());
            if (Directory.Exists("/run/netns"))
                Assert.Empty(Directory.EnumerateFileSystemEntries("/run/netns", "ttan-*"));
            // Zombies wait for this machine's init to reap them; they hold nothing.
            Assert.All(pids, pid => Assert.True(!File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Split(") ")[^1].StartsWith('Z'),
                $"process {pid} of the cluster is still alive"));
        }
        finally
        {
            // The collection's other tests may come after this one.
            cluster.Run("start");
        }
    }
}
