using System.Diagnostics;
using Tta.Cache;
using Tta.Core;
using Tta.Execution;

namespace Tta.Tests.Execution;

/// <summary>
/// The local executor commits a computed unit (its files flushed to disk, then its manifest) on a thread of its own:
/// the unit's thread goes on to the next unit meanwhile, the units that read it start only once its manifest is
/// there, and a commit that fails fails its unit by name. At <c>--jobs=N</c> (N &gt; 1) N + 1 units run at once.
/// </summary>
public class CommitTests
{
    /// <summary>A unit of its own: runs <paramref name="body"/>, then writes one file; reads <paramref name="reads"/> if given.</summary>
    private sealed class TestUnit(string root, string key, Action body, StageUnit? reads = null) : StageUnit
    {
        public override string Stage => "Test";
        public override string Key => key;
        public override string ManifestPath => Path.Combine(root, $"{key}.manifest.json");
        public string OutputPath => Path.Combine(root, $"{key}.txt");

        public override UnitDeclaration Declare()
        {
            var declaration = new UnitDeclaration("commit-test-1").Writes(OutputPath);
            return reads is null ? declaration : declaration.Reads(reads);
        }

        public override IReadOnlyList<string> Run(RunContext context)
        {
            body();
            AtomicFile.WriteAllText(OutputPath, key);
            return [OutputPath];
        }
    }

    private static RunContext Context(string root, int jobs) =>
        new(new Workspace(root, Path.Combine(root, "cache"), Path.Combine(root, "figures")), [], TextWriter.Null) { Jobs = jobs };

    [Fact]
    public async Task AUnitsThreadGoesOnWhileItCommitsAndItsReadersWaitForItsManifest()
    {
        var root = Repo.TempDir();
        // The commit of "slow" flushes a named pipe it noted, which blocks until this test opens the pipe's other end.
        var pipe = Path.Combine(root, "commit-gate");
        using (var mkfifo = Process.Start("mkfifo", pipe)) mkfifo.WaitForExit();
        using var otherRan = new ManualResetEventSlim();
        var readerStartedAt = -1L;
        var slow = new TestUnit(root, "slow", () => Assert.True(DeferredFlush.Defer(pipe)));
        var reader = new TestUnit(root, "reader", () =>
        {
            Interlocked.Exchange(ref readerStartedAt, Stopwatch.GetTimestamp());
            Assert.True(File.Exists(Path.Combine(root, "slow.manifest.json")), "the reader started before its input's manifest was written");
        }, reads: slow);
        var other = new TestUnit(root, "other", otherRan.Set);
        var graph = UnitGraph.Of([slow, reader, other]);
        using var context = Context(root, jobs: 1);

        var run = Task.Run(() => new LocalExecutor().Run(graph, graph.Units, context, RunOptions.Default));
        // One unit at a time, and "slow" comes first: "other" runs on the same thread while "slow" waits to commit.
        Assert.True(otherRan.Wait(TimeSpan.FromSeconds(30)), "the next unit did not start while the first one committed");
        Thread.Sleep(200);
        Assert.Equal(-1L, Interlocked.Read(ref readerStartedAt));
        Assert.False(File.Exists(slow.ManifestPath));
        Assert.Equal("slow", File.ReadAllText(slow.OutputPath)); // in place, waiting for the disk flush only

        using (new FileStream(pipe, FileMode.Open, FileAccess.Read)) { }
        var outcomes = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["other", "slow", "reader"], outcomes.Select(o => o.Unit.Key).ToList());
        Assert.True(outcomes.All(o => o.Ran));
        Assert.NotEqual(-1L, readerStartedAt);
        Assert.True(StageRunner.Check(reader, context.Workspace).UpToDate);
    }

    [Fact]
    public void ACommitThatFailsFailsItsUnitByNameAndItsReadersDoNotRun()
    {
        var root = Repo.TempDir();
        var readerRan = false;
        var broken = new TestUnit(root, "broken", () => { });
        // Its manifest cannot be written: a folder stands at its path.
        Directory.CreateDirectory(broken.ManifestPath);
        var reader = new TestUnit(root, "reader", () => readerRan = true, reads: broken);
        var graph = UnitGraph.Of([broken, reader]);
        using var context = Context(root, jobs: 2);

        Assert.ThrowsAny<IOException>(() => new LocalExecutor().Run(graph, graph.Units, context, RunOptions.Default));
        Assert.False(readerRan);
        Assert.Empty(Directory.GetFiles(root, ".tmp-*"));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(4, 5)]
    public void UnitsInFlightAreJobsAndOneMoreAboveOne(int jobs, int inFlight)
    {
        var root = Repo.TempDir();
        using var context = Context(root, jobs);
        Assert.Equal(inFlight, context.UnitSlots);

        // That many units run at once (each waits for the others), and no more.
        var running = 0;
        var most = 0;
        using var all = new Barrier(inFlight);
        var units = Enumerable.Range(0, inFlight + 1).Select(i => (StageUnit)new TestUnit(root, $"u{i}", () =>
        {
            var now = Interlocked.Increment(ref running);
            lock (all) most = Math.Max(most, now);
            if (i < inFlight) Assert.True(all.SignalAndWait(TimeSpan.FromSeconds(30)), "fewer units than expected ran at once");
            Interlocked.Decrement(ref running);
        })).ToList();
        var graph = UnitGraph.Of(units);
        Assert.Equal(inFlight + 1, new LocalExecutor().Run(graph, graph.Units, context, RunOptions.Default).Count);
        Assert.Equal(inFlight, most);
    }
}
