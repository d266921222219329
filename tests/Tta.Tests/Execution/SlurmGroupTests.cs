using System.Diagnostics;
using Xunit.Abstractions;

namespace Tta.Tests.Execution;

/// <summary>
/// Slurm tasks sized to model loads (issue 24), on the real single-node cluster: a 20-text corpus study with
/// <c>--group-size=5</c> runs Extract as 4 tasks that load the model once each, with the bytes of a local run; a unit
/// that fails inside a group fails by its own name while the group's other units are built, and the rerun submits
/// only what is still stale.
/// </summary>
[Trait("Lane", "Full")]
[Collection("slurm")]
public sealed class SlurmGroupTests(SlurmCluster cluster, ITestOutputHelper output)
{
    /// <summary>bert-tiny (the <see cref="TinyWorkspace"/> fixture) on a corpus of 20 one-line texts, keyed s-1 … s-20.</summary>
    private static TinyWorkspace TwentyTexts()
    {
        var ws = new TinyWorkspace();
        var words = "the cat sat on mat a dog ran to park".Split(' ');
        var lines = Enumerable.Range(0, 20).Select(i => string.Join(' ', words.Skip(i % 10).Concat(words.Take(i % 10))) + (i >= 10 ? " !" : " ."));
        Directory.CreateDirectory(Path.Combine(ws.Root, "experiments", "corpora"));
        File.WriteAllLines(Path.Combine(ws.Root, "experiments", "corpora", "s.txt"), lines);
        ws.WriteExperiment(TinyWorkspace.NameAndModel + """
            texts:
              - name: s
                corpus: corpora/s.txt
            figures:
              formats: [png]
              cell_pixels: 4
            """);
        return ws;
    }

    private (int Code, string Output) Build(TinyWorkspace ws, string name, params string[] extra) => Build(ws, name, [], extra);

    private (int Code, string Output) Build(TinyWorkspace ws, string name, Dictionary<string, string> environment, params string[] extra)
    {
        var sw = Stopwatch.StartNew();
        var result = TtaProcess.RunCli(ws, "run",
            ["--stage=Download", "--through=Figures", $"--cache={Cache(ws, name)}", $"--figures={Path.Combine(ws.Root, name, "figures")}", .. extra],
            new Dictionary<string, string>(environment) { ["SLURM_CONF"] = cluster.SlurmConf });
        output.WriteLine($"{name} {string.Join(' ', extra)}: exit {result.Code} in {sw.Elapsed.TotalSeconds:0.0} s\n{result.Output}");
        return result;
    }

    private static string Cache(TinyWorkspace ws, string name) => Path.Combine(ws.Root, name, "cache");

    private static bool IsLoadLine(string line) => line.StartsWith(Tta.Extract.ExtractStage.LoadLinePrefix, StringComparison.Ordinal);

    /// <summary>The stdout logs of one stage's tasks, over every Slurm run into this cache.</summary>
    private static List<string> TaskLogs(TinyWorkspace ws, string name, string stage) =>
        [.. Directory.EnumerateDirectories(Path.Combine(Cache(ws, name), ".slurm"))
            .Select(run => Path.Combine(run, stage)).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.out"))];

    [Fact]
    public void TwentyTextsInGroupsOfFiveLoadTheModelFourTimesWithTheBytesOfALocalRun()
    {
        if (!cluster.Check(output)) return;
        var ws = TwentyTexts();
        var (code, local) = Build(ws, "local", "--jobs=1");
        Assert.Equal(0, code);
        Assert.Single(local.Split('\n'), IsLoadLine); // here one process serves every text

        (code, var log) = Build(ws, "slurm", "--executor=slurm", "--group-size=5", "--poll-seconds=0.5");
        Assert.Equal(0, code);
        Assert.Contains("Extract: 20 unit(s) to submit in 4 task(s)", log);
        Assert.Contains("Extract: 20 unit(s) in 4 task(s), 4 model load(s)", log);
        Assert.Contains("Metrics: 20 unit(s) in 4 task(s), 0 model load(s)", log); // no model: grouped all the same
        Assert.Contains("Extract 0 queued, 0 running, 20/20 done, 0 failed (4 tasks)", log); // the progress line counts units
        // The count the run printed is the tasks' own: one load line in each Extract task's log.
        var logs = TaskLogs(ws, "slurm", "Extract");
        Assert.Equal(4, logs.Count);
        Assert.All(logs, l => Assert.Single(File.ReadLines(l), IsLoadLine));
        // Each task script names its five units.
        var scripts = Directory.EnumerateFiles(Path.GetDirectoryName(logs[0])!, "task-*.sh").ToList();
        Assert.All(scripts, s => Assert.Equal(5, File.ReadLines(s).Count(l => l.StartsWith("# tta unit: Extract:tiny/tiny/s-", StringComparison.Ordinal))));

        var mine = ScaleOutTests.Outputs(Cache(ws, "local"), Path.Combine(ws.Root, "local", "figures"));
        var theirs = ScaleOutTests.Outputs(Cache(ws, "slurm"), Path.Combine(ws.Root, "slurm", "figures"));
        Assert.Equal(40, mine.Keys.Count(k => k.EndsWith(".parquet", StringComparison.Ordinal))); // activations and similarity of 20 texts
        ScaleOutTests.AssertSameBytes(mine, theirs, "the local run");
    }

    [Fact]
    public void AUnitFailingInAGroupFailsByItsOwnNameTheOthersAreBuiltAndTheRerunSubmitsOnlyIt()
    {
        if (!cluster.Check(output)) return;
        var ws = TwentyTexts();
        // A folder where text s-3's activations go: its unit cannot move its finished file into place and fails, after
        // its task loaded the model; the task goes on with s-4 and s-5.
        var blocker = Path.Combine(Cache(ws, "slurm"), "extract", "tiny", "tiny", "s-3", "activations.parquet", "in-the-way");
        Directory.CreateDirectory(blocker);
        var (code, log) = Build(ws, "slurm", "--executor=slurm", "--group-size=5", "--poll-seconds=0.5");
        Assert.NotEqual(0, code);
        Assert.Contains("1 unit(s) failed on Slurm", log);
        var failed = Assert.Single(log.Split('\n'), l => l.StartsWith("Extract Extract:", StringComparison.Ordinal));
        Assert.StartsWith("Extract Extract:tiny/tiny/s-3: FAILED", failed);
        Assert.Contains("; log: ", failed);
        Assert.Contains("Extract: 20 unit(s) in 4 task(s), 4 model load(s)", log);
        // The other 19 texts were built, s-4 and s-5 after s-3 failed in the same task.
        var built = Directory.EnumerateFiles(Path.Combine(Cache(ws, "slurm"), "extract"), "manifest.json", SearchOption.AllDirectories).ToList();
        Assert.Equal(19, built.Count);
        Assert.DoesNotContain(built, m => m.Contains("/s-3/", StringComparison.Ordinal));

        Directory.Delete(Path.GetDirectoryName(blocker)!, recursive: true);
        (code, log) = Build(ws, "slurm", "--executor=slurm", "--group-size=5", "--poll-seconds=0.5");
        Assert.Equal(0, code);
        Assert.Contains("Extract: 1 unit(s) to submit in 1 task(s)", log);
        Assert.Contains("Extract: 1 unit(s) in 1 task(s), 1 model load(s)", log);
    }

    [Fact]
    public void TasksThatFailAfterBuildingAllTheirUnitsDoNotFailTheRun()
    {
        if (!cluster.Check(output)) return;
        var ws = TwentyTexts();
        // Every Extract task exits non-zero after building its five units (its tasks inherit the environment), so
        // Slurm cancels the Metrics array that waits for them; the run submits it again and ends well.
        var (code, log) = Build(ws, "slurm", new Dictionary<string, string> { [Tta.Execution.PipelineRun.FailAfterUnitsVariable] = "Extract" },
            "--executor=slurm", "--group-size=5", "--poll-seconds=0.5");
        Assert.True(code == 0, log);
        Assert.Contains("Extract 0 queued, 0 running, 0/20 done, 20 failed (4 tasks)", log);
        Assert.Contains("slurm: every unit of the tasks that ended badly was built; submitting the units their failure held back", log);
        Assert.Equal(2, log.Split('\n').Count(l => l.StartsWith("Metrics: 20 unit(s) to submit in 4 task(s)", StringComparison.Ordinal)));
        Assert.DoesNotContain("Extract: 20 unit(s) to submit in 4 task(s)", log.Split("every unit of the tasks")[1]); // Extract is not submitted again
        var built = Directory.EnumerateFiles(Cache(ws, "slurm"), "manifest.json", SearchOption.AllDirectories).Count(m => m.Contains("/extract/", StringComparison.Ordinal));
        Assert.Equal(20, built);
    }
}
