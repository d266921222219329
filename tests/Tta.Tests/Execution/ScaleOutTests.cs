using Tta.Metrics;
using System.Diagnostics;
using Tta.Cache;
using Xunit.Abstractions;
using Tta.Core;

namespace Tta.Tests.Execution;

/// <summary>
/// Scale-out (issue #15) with real processes: the same experiment built one unit at a time, two at a time and as Slurm
/// job arrays on the real single-node cluster gives the same bytes; a cancelled Slurm job fails the run naming its
/// unit and the next run submits only that unit; through ./build.sh, each Cake stage task ends with its own arrays and
/// a failed task fails its own stage's task; two experiments sharing a model run side by side, each unit locked on
/// its own.
/// </summary>
[Trait("Lane", "Full")]
[Collection("slurm")]
public sealed class ScaleOutTests(SlurmCluster cluster, ITestOutputHelper output)
{
    /// <summary>Two architectures (BERT and Flan-T5, tiny fixtures) × three texts.</summary>
    internal static TinyWorkspace TwoModelsThreeTexts()
    {
        var ws = new TinyWorkspace();
        ws.AddFlanT5Tiny();
        ws.WriteExperiment("""
            name: tiny
            models:
              - id: bert-tiny
                source: local
                path: model
                name: bert
              - id: flan-t5-tiny
                source: local
                path: t5
                name: t5
            texts:
              - name: one
                file: texts/one.txt
              - name: two
                text: "a dog ran to the park!"
              - name: three
                text: "the mat sat on the cat, and a dog ran."
            metrics:
              trajectory: true
            figures:
              formats: [png]
              cell_pixels: 4
            """);
        return ws;
    }

    private Dictionary<string, string> SlurmEnvironment() => new() { ["SLURM_CONF"] = cluster.SlurmConf };

    /// <summary>Every Parquet file and figure under a run's folders, by path relative to them, with its sha256.</summary>
    internal static SortedDictionary<string, string> Outputs(string cache, string figures)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (root, name) in new[] { (cache, "cache"), (figures, "figures") })
            foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                         .Where(f => f.EndsWith(".parquet", StringComparison.Ordinal) || f.EndsWith(".png", StringComparison.Ordinal)))
                result[name + "/" + Path.GetRelativePath(root, f)] = Hashing.Sha256File(f);
        return result;
    }

    /// <summary>
    /// Asserts two runs' <see cref="Outputs"/> name the same files with the same bytes; <paramref name="describe"/>, when
    /// given, says how a differing file differs.
    /// </summary>
    internal static void AssertSameBytes(SortedDictionary<string, string> expected, SortedDictionary<string, string> actual, string what,
        Func<string, string>? describe = null)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        var differ = expected.Keys.Where(k => expected[k] != actual[k]).ToList();
        Assert.True(differ.Count == 0, describe is null ? $"{string.Join(", ", differ)} differ from {what}"
            : $"differ from {what}:\n{string.Join("\n", differ.Select(describe))}");
    }

    /// <summary>
    /// Asserts two runs wrote the same Parquet files and PNGs (<see cref="Outputs"/>) byte for byte; for each Parquet
    /// file that differs, the message says how: the metadata keys whose values differ, and the first block whose
    /// values differ with its largest difference.
    /// </summary>
    internal static void AssertSameOutputs((string Cache, string Figures) expected, (string Cache, string Figures) actual, string what)
    {
        string PathOf((string Cache, string Figures) run, string key) =>
            key.StartsWith("cache/", StringComparison.Ordinal) ? Path.Combine(run.Cache, key["cache/".Length..]) : Path.Combine(run.Figures, key["figures/".Length..]);
        AssertSameBytes(Outputs(expected.Cache, expected.Figures), Outputs(actual.Cache, actual.Figures), what, key =>
        {
            if (!key.EndsWith(".parquet", StringComparison.Ordinal)) return key;
            var (a, b) = (Tta.Store.VectorStoreReader.ReadAsync(PathOf(expected, key)).GetAwaiter().GetResult(),
                Tta.Store.VectorStoreReader.ReadAsync(PathOf(actual, key)).GetAwaiter().GetResult());
            var keys = a.Metadata.Keys.Union(b.Metadata.Keys).Where(k => a.Metadata.GetValueOrDefault(k) != b.Metadata.GetValueOrDefault(k))
                .Select(k => $"{k}: {Short(a.Metadata.GetValueOrDefault(k))} / {Short(b.Metadata.GetValueOrDefault(k))}");
            var block = a.Blocks.Zip(b.Blocks).FirstOrDefault(p => p.First.Key != p.Second.Key || !p.First.Values.AsSpan().SequenceEqual(p.Second.Values));
            var values = a.Blocks.Count != b.Blocks.Count ? $"{a.Blocks.Count} / {b.Blocks.Count} blocks"
                : block.First is null ? "values equal"
                : block.First.Key != block.Second.Key || block.First.Values.Length != block.Second.Values.Length ? $"block {block.First.Key} / {block.Second.Key}"
                : $"block {block.First.Key}: largest difference {block.First.Values.Zip(block.Second.Values).Max(v => Math.Abs(v.First - v.Second)):G6}";
            return $"{key} (metadata: {string.Join("; ", keys.DefaultIfEmpty("equal"))}; {values})";
        });

        static string Short(string? value) => value is null ? "(none)" : value.Length <= 120 ? value : value[..120] + "…";
    }

    private (int Code, string Output) Build(TinyWorkspace ws, string name, params string[] extra)
    {
        var sw = Stopwatch.StartNew();
        var result = TtaProcess.RunCli(ws, "run",
            ["--stage=Download", "--through=Figures", $"--cache={Path.Combine(ws.Root, name, "cache")}", $"--figures={Path.Combine(ws.Root, name, "figures")}", .. extra],
            SlurmEnvironment());
        output.WriteLine($"{name}: exit {result.Code} in {sw.Elapsed.TotalSeconds:0.0} s\n{result.Output}");
        return result;
    }

    [Fact]
    public void OneJobTwoJobsAndSlurmGiveTheSameBytes()
    {
        if (!cluster.Check(output)) return;
        var ws = TwoModelsThreeTexts();
        Assert.Equal(0, Build(ws, "jobs1", "--jobs=1").Code);
        Assert.Equal(0, Build(ws, "jobs2", "--jobs=2").Code);
        var (code, log) = Build(ws, "slurm", "--executor=slurm", "--poll-seconds=0.5");
        Assert.Equal(0, code);
        Assert.Contains("slurm: ", log);

        var one = Outputs(Path.Combine(ws.Root, "jobs1", "cache"), Path.Combine(ws.Root, "jobs1", "figures"));
        // 2 models × 3 texts: activations, similarity and trajectory files, and similarity and trajectory figures.
        Assert.Equal(18, one.Keys.Count(k => k.EndsWith(".parquet", StringComparison.Ordinal)));
        Assert.True(one.Keys.Count(k => k.EndsWith(".png", StringComparison.Ordinal)) >= 6 * 4);
        foreach (var other in new[] { "jobs2", "slurm" })
        {
            AssertSameBytes(one, Outputs(Path.Combine(ws.Root, other, "cache"), Path.Combine(ws.Root, other, "figures")), $"--jobs=1 ({other})");
        }

        // A second Slurm run submits nothing.
        (code, log) = Build(ws, "slurm", "--executor=slurm", "--poll-seconds=0.5");
        Assert.Equal(0, code);
        Assert.DoesNotContain("to submit", log);
    }

    private static readonly string[] StageTasks = ["Download-Weights", "Extract-Activations", "Compute-Metrics", "Render-Figures"];

    /// <summary>./build.sh itself with --executor=slurm on <paramref name="ws"/>'s cache and figures, polling every half second.</summary>
    private (int Code, string Output) BuildSh(TinyWorkspace ws)
    {
        var sw = Stopwatch.StartNew();
        var result = TtaProcess.Run(TtaProcess.Command(Path.Combine(Repo.Root, "build.sh"),
            [$"--experiment={ws.ExperimentPath}", $"--cache={ws.CacheDir}", $"--figures={ws.FiguresDir}", "--executor=slurm", "--poll-seconds=0.5"],
            SlurmEnvironment()), TimeSpan.FromMinutes(8));
        output.WriteLine($"./build.sh --executor=slurm: exit {result.Code} in {sw.Elapsed.TotalSeconds:0.0} s\n{result.Output}");
        return result;
    }

    [Fact]
    public void EachStageTaskOfASlurmRunThroughBuildShShowsItsOwnTime()
    {
        if (!cluster.Check(output)) return;
        var ws = new TinyWorkspace();
        var (code, log) = BuildSh(ws);
        Assert.True(code == 0, log);
        var statuses = CakeSummary.Statuses(log);
        Assert.Equal(["Succeeded", "Succeeded", "Succeeded", "Succeeded"], StageTasks.Select(t => statuses.GetValueOrDefault(t, "missing")));
        // Each stage's arrays start only once the stage before has completed (afterok), and its task ends when the
        // polls see its arrays end, so each task lasts at least a task's launch and run. Before, Slurm told the tracker
        // nothing: Extract's task waited for the whole run, and Metrics and Figures took ~0 s, "every unit was up to
        // date when reached".
        var times = CakeSummary.Durations(log);
        foreach (var (task, stage, units) in new[] { ("Extract-Activations", "Extract", 2), ("Compute-Metrics", "Metrics", 2), ("Render-Figures", "Figures", 3) })
        {
            Assert.Contains($"{stage}: {units} unit(s) built", log);
            Assert.True(times[task] >= TimeSpan.FromSeconds(0.5), $"{task} took {times[task].TotalSeconds:0.000} s\n{log}");
        }
        var stages = times["Extract-Activations"] + times["Compute-Metrics"] + times["Render-Figures"];
        Assert.True(times["Extract-Activations"] < stages * 0.8, $"Extract's task holds most of the run: {times["Extract-Activations"].TotalSeconds:0.0} of {stages.TotalSeconds:0.0} s\n{log}");
    }

    [Fact]
    public void AFailedMetricsTaskOnSlurmIsReportedInMetricsNotExtract()
    {
        if (!cluster.Check(output)) return;
        var ws = new TinyWorkspace();
        // A folder where text one's similarity file goes: its Metrics task cannot move its finished file into place and
        // fails; Extract and text two's Metrics task succeed, and the Figures arrays are never started.
        using (var context = new RunContext(Workspace.At(ws.Root), [Tta.Config.ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings)], TextWriter.Null))
        {
            var similarity = (Tta.Metrics.Similarity.SimilarityUnit)Tta.Execution.UnitGraph.For(context).Find("Metrics:tiny/tiny/one");
            Directory.CreateDirectory(Path.Combine(similarity.OutputPath, "in-the-way"));
        }
        var (code, log) = BuildSh(ws);
        Assert.NotEqual(0, code);
        var statuses = CakeSummary.Statuses(log);
        // Before, the failure was booked to the first stage still waiting when the run ended: Extract.
        Assert.True(statuses.GetValueOrDefault("Download-Weights") == "Succeeded", log);
        Assert.True(statuses.GetValueOrDefault("Extract-Activations") == "Succeeded", log);
        Assert.True(statuses.GetValueOrDefault("Compute-Metrics") == "Failed", log);
        Assert.False(statuses.ContainsKey("Render-Figures"), log);
        Assert.Contains("Extract: 2 unit(s) built", log);
        Assert.Contains("Metrics failed", log);
        Assert.Single(log.Split('\n'), l => l.StartsWith("Metrics Metrics:tiny/tiny/one: FAILED", StringComparison.Ordinal));
        Assert.DoesNotContain("Metrics Metrics:tiny/tiny/two: FAILED", log);
    }

    [Fact]
    public async Task ACancelledJobFailsTheRunNamingItsUnitAndTheRerunSubmitsOnlyThatUnit()
    {
        if (!cluster.Check(output)) return;
        var ws = TwoModelsThreeTexts();
        var cache = Path.Combine(ws.Root, "run", "cache");
        // The report waits for every figure (a later array of the Figures stage): cancel it while it is pending.
        using var run = Process.Start(TtaProcess.Cli(ws.Args("run", "--stage=Download", "--through=Figures", "--executor=slurm", "--poll-seconds=0.5",
            $"--cache={cache}", $"--figures={Path.Combine(ws.Root, "run", "figures")}"), SlurmEnvironment()))!;
        var runOutput = run.StandardOutput.ReadToEndAsync();
        var runErrors = run.StandardError.ReadToEndAsync();
        string? job = null;
        var sw = Stopwatch.StartNew();
        while (job is null && sw.Elapsed < TimeSpan.FromMinutes(2) && !run.HasExited)
        {
            var queue = cluster.Cli.Run("squeue", ["-h", "-o", "%F %j"]).Stdout;
            job = queue.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).FirstOrDefault(p => p is [_, "tta-Figures-2"])?[0];
            if (job is null) Thread.Sleep(100);
        }
        Assert.True(job is not null, "the report's job never appeared in squeue");
        Assert.True(cluster.Cli.Run("scancel", [job]).Succeeded);
        await run.WaitForExitAsync();
        var log = await runOutput + await runErrors;
        output.WriteLine(log);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("1 unit(s) failed on Slurm", log);
        Assert.Single(log.Split('\n'), l => l.StartsWith("Figures-2 Figures:tiny/", StringComparison.Ordinal) && l.Contains(": CANCELLED", StringComparison.Ordinal));

        var (code, again) = Build(ws, "run", "--executor=slurm", "--poll-seconds=0.5");
        Assert.Equal(0, code);
        Assert.Contains("Figures-2: 1 unit(s) to submit", again);
        Assert.Single(again.Split('\n'), l => l.Contains("unit(s) to submit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SigtermCancelsEveryJobOfTheRun()
    {
        if (!cluster.Check(output)) return;
        var ws = TwoModelsThreeTexts();
        // Jobs another test left in the shared cluster's queue are not this run's (counting them sent the signal
        // before the run had started, exit 143).
        var earlier = new HashSet<string>(StringComparer.Ordinal);
        earlier.UnionWith(Jobs());
        using var run = Process.Start(TtaProcess.Cli(ws.Args("run", "--stage=Download", "--through=Figures", "--executor=slurm", "--poll-seconds=0.5",
            $"--cache={Path.Combine(ws.Root, "run", "cache")}", $"--figures={Path.Combine(ws.Root, "run", "figures")}"), SlurmEnvironment()))!;
        var runOutput = run.StandardOutput.ReadToEndAsync();
        var runErrors = run.StandardError.ReadToEndAsync();
        List<string> Jobs() => [.. cluster.Cli.Run("squeue", ["-h", "-o", "%F %j"]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).Where(p => p is [_, var name] && name.StartsWith("tta-", StringComparison.Ordinal)).Select(p => p[0]).Distinct().Where(id => !earlier.Contains(id))];
        var sw = Stopwatch.StartNew();
        var submitted = new List<string>();
        while (submitted.Count < 3 && sw.Elapsed < TimeSpan.FromMinutes(2) && !run.HasExited)
        {
            submitted = Jobs();
            if (submitted.Count < 3) Thread.Sleep(100);
        }
        Assert.True(submitted.Count >= 3, "the run's job arrays never appeared in squeue");
        using (var kill = Process.Start(TtaProcess.Command("kill", ["-TERM", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!)
            kill.WaitForExit();
        await run.WaitForExitAsync();
        var log = await runOutput + await runErrors;
        output.WriteLine(log);
        Assert.Equal(130, run.ExitCode);
        Assert.Contains("error: the run was interrupted", log);
        // scancel is asynchronous in the controller: the jobs leave the queue within seconds.
        sw.Restart();
        var left = Jobs().Intersect(submitted).ToList();
        while (left.Count > 0 && sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(200);
            left = [.. Jobs().Intersect(submitted)];
        }
        Assert.True(left.Count == 0, $"jobs {string.Join(", ", left)} of the terminated run are still queued or running");
    }

    [Fact]
    public async Task TwoExperimentsSharingAModelRunSideBySideEachUnitLockedOnItsOwn()
    {
        var ws = new TinyWorkspace();
        var second = Path.Combine(ws.Root, "experiments", "second.yaml");
        File.WriteAllText(second, TinyWorkspace.DefaultYaml.Replace("name: tiny", "name: second"));
        string[] Both(params string[] extra) => [.. extra, $"--experiment={ws.ExperimentPath}", $"--experiment={second}"];
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code); // the shared model

        // Another run holds the lock of the first experiment's Extract unit: as if it were building it right now.
        var cache = ws.CacheDir;
        Directory.CreateDirectory(Path.Combine(cache, UnitLock.Folder));
        var context = new RunContext(Workspace.At(ws.Root), [Tta.Config.ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings)], TextWriter.Null);
        var extract = Tta.Execution.UnitGraph.For(context).Find("Extract:tiny/tiny/one");
        using var holder = Process.Start(TtaProcess.Command("flock", ["-x", UnitLock.PathFor(cache, extract), "sleep", "60"]))!;
        Thread.Sleep(500);

        // The second experiment is built all the way while the first one's unit is held.
        var sw = Stopwatch.StartNew();
        var (code, log) = TtaProcess.Run(TtaProcess.Cli(["run", $"--root={ws.Root}", $"--experiment={second}", "--stage=Extract", "--through=Figures"]));
        Assert.True(code == 0, log);
        output.WriteLine($"second experiment built in {sw.Elapsed.TotalSeconds:0.0} s while tiny/tiny/one was held");
        Assert.DoesNotContain("waiting", log);

        // The first experiment waits for that unit only, and finishes once it is released.
        using var first = Process.Start(TtaProcess.Cli(ws.Args("run", "--stage=Extract", "--through=Figures")))!;
        var firstOutput = first.StandardOutput.ReadToEndAsync();
        Thread.Sleep(3000);
        Assert.False(first.HasExited);
        holder.Kill();
        await first.WaitForExitAsync();
        var firstLog = await firstOutput + await first.StandardError.ReadToEndAsync();
        Assert.True(first.ExitCode == 0, firstLog);
        Assert.Contains("Extract tiny/tiny/one: waiting for another run that is building this unit", firstLog);

        // Nothing was corrupted: both experiments' outputs are what one run of both builds from scratch.
        var fresh = new TinyWorkspace();
        File.WriteAllText(Path.Combine(fresh.Root, "experiments", "second.yaml"), File.ReadAllText(second));
        var (freshCode, freshLog) = fresh.Cli("run", Both("--stage=Download", "--through=Figures").Select(a => a.Replace(ws.Root, fresh.Root)).ToArray());
        Assert.True(freshCode == 0, freshLog);
        AssertSameOutputs((Path.Combine(fresh.CacheDir, "extract"), Path.Combine(fresh.FiguresDir, "second")),
            (Path.Combine(ws.CacheDir, "extract"), Path.Combine(ws.FiguresDir, "second")), "one run of both from scratch");
        AssertSameOutputs((Path.Combine(fresh.CacheDir, "metrics"), Path.Combine(fresh.FiguresDir, "tiny")),
            (Path.Combine(ws.CacheDir, "metrics"), Path.Combine(ws.FiguresDir, "tiny")), "one run of both from scratch");
        Assert.Equal(0, ws.Cli("status", Both("--stage=Figures")).Code);
    }
}
