using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Tta.Build;

namespace Tta.Tests.Build;

/// <summary>
/// The run as a user starts it: ./build.sh itself (Cake, its Setup and stage tasks, the tta-cli processes), each
/// call a real process with a timeout, on a tiny workspace. Covers what the library tests cannot see: the lock Cake
/// hands its children, Cake's summary, errors printed once, help, dry runs and Ctrl-C.
/// </summary>
[Trait("Lane", "Full")]
public partial class BuildShTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);

    private static string[] On(TinyWorkspace ws, params string[] extra) =>
        [$"--experiment={ws.ExperimentPath}", $"--cache={ws.CacheDir}", $"--figures={ws.FiguresDir}", .. extra];

    private static (int Code, string Output) BuildSh(params string[] args) =>
        TtaProcess.Run(TtaProcess.Command(Path.Combine(Repo.Root, "build.sh"), args), Limit);

    /// <summary>Every file under <paramref name="dir"/> with its size and time, and every folder.</summary>
    private static string Snapshot(string dir) => string.Join("\n",
        Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(p =>
            File.Exists(p) ? $"{Path.GetRelativePath(dir, p)} {new FileInfo(p).Length} {File.GetLastWriteTimeUtc(p).Ticks}" : $"{Path.GetRelativePath(dir, p)}/"));

    private static int Count(string text, string part) => Regex.Matches(text, Regex.Escape(part)).Count;

    [GeneratedRegex(@"^\s*(?<task>[A-Za-z-]+)\s+(?<time>\d\d:\d\d:\d\d\.\d+)\s+(?<status>Succeeded|Failed)", RegexOptions.Multiline)]
    private static partial Regex SummaryRow();

    /// <summary>Cake's summary table: task → (seconds, status). Cake may wrap a long task name onto a second line.</summary>
    private static Dictionary<string, (double Seconds, string Status)> Summary(string output) =>
        SummaryRow().Matches(output).ToDictionary(m => m.Groups["task"].Value,
            m => (TimeSpan.Parse(m.Groups["time"].Value, CultureInfo.InvariantCulture).TotalSeconds, m.Groups["status"].Value));

    [GeneratedRegex(@"^(?<stage>Download|Extract|Metrics|Figures) \S+: done in (?<s>[\d.]+) s", RegexOptions.Multiline)]
    private static partial Regex UnitDone();

    [Fact]
    public void ArchiveThroughBuildShUsesTheLockCakeHandsIt()
    {
        var ws = new TinyWorkspace();
        // Used to wait for itself forever: Cake held the run lock shared, the archive asked for it exclusive.
        var (code, output) = BuildSh(On(ws, "--target=Archive"));
        Assert.True(code == 0, output);
        Assert.DoesNotContain("waiting for another tta run", output);
        Assert.Single(Directory.GetFiles(Path.Combine(ws.FiguresDir, "archives"), "tiny-*.zip"));
    }

    [Fact]
    public void EachStageTaskShowsItsOwnTime()
    {
        var ws = new TinyWorkspace();
        var (code, output) = BuildSh(On(ws));
        Assert.True(code == 0, output);
        var summary = Summary(output);
        var units = UnitDone().Matches(output).GroupBy(m => m.Groups["stage"].Value)
            .ToDictionary(g => g.Key, g => g.Max(m => double.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture)));
        // A stage's units start once the stage before it has finished (and its task with it, within a poll), so its task
        // lasts at least as long as its slowest unit; before, Download-Weights held the whole run and the rest ~0 s.
        foreach (var (task, stage) in new[] { ("Download-Weights", "Download"), ("Extract-Activations", "Extract"), ("Compute-Metrics", "Metrics"), ("Render-Figures", "Figures") })
        {
            Assert.True(summary.TryGetValue(task, out var row) && row.Status == "Succeeded", output);
            Assert.True(row.Seconds >= units[stage] - 0.3, $"{task} took {row.Seconds:0.000} s, its slowest unit {units[stage]:0.00} s\n{output}");
            Assert.Contains($"{stage}: {(stage == "Figures" ? 3 : stage == "Download" ? 1 : 2)} unit(s) built", output);
        }
    }

    [Fact]
    public void AFailureInExtractIsReportedInExtractAndPrintedOnce()
    {
        var ws = new TinyWorkspace();
        var weights = Path.Combine(ws.Root, "experiments", "model", "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..^1000]); // the header is intact, the last tensor lies past the end
        var (code, output) = BuildSh(On(ws));
        Assert.NotEqual(0, code);
        var summary = Summary(output);
        Assert.Equal("Succeeded", summary["Download-Weights"].Status);
        Assert.True(summary.TryGetValue("Extract-Activations", out var extract) && extract.Status == "Failed", output);
        Assert.False(summary.ContainsKey("Compute-Metrics"), output);
        Assert.True(Count(output, "lies outside the file") == 1, output);
        Assert.Contains("Extract failed", output);
    }

    [Theory]
    [InlineData("--executor=slrum", "--executor=slrum: use one of local, slurm")]
    [InlineData("--time=abc", "--time: time limit 'abc' is not one of Slurm's formats")]
    [InlineData("--jobs=0", "--jobs=0: write a whole number of threads")]
    [InlineData("--force-stage=Metrcs", "--force-stage=Metrcs: no such stage — did you mean Metrics?")]
    public void EveryOptionIsCheckedWhateverTheCacheHolds(string option, string message)
    {
        var ws = new TinyWorkspace();
        // Stale (nothing built): rejected before anything is made.
        var (code, output) = BuildSh(On(ws, option));
        Assert.True(code == 2, output);
        Assert.True(Count(output, message) == 1, output);
        Assert.False(Directory.Exists(ws.CacheDir), output);

        // Up to date: used to pass, since only a run with stale units read the value. Checked by tta-cli's plan too.
        (code, output) = BuildSh(On(ws));
        Assert.True(code == 0, output);
        var before = Snapshot(ws.Root);
        (code, output) = BuildSh(On(ws, option));
        Assert.True(code == 2, output);
        Assert.True(Count(output, message) == 1, output);
        var journal = Path.Combine(Repo.TempDir(), "journal.json");
        var (planCode, planOutput) = TtaProcess.Run(TtaProcess.Cli(["plan", $"--root={Repo.Root}", $"--journal={journal}", "--through=Figures", .. On(ws, option)]));
        Assert.True(planCode == 2 && planOutput.Contains(message, StringComparison.Ordinal), planOutput);
        Assert.Equal(before, Snapshot(ws.Root));
    }

    [Fact]
    public void ARejectedExperimentCreatesNothingAndIsPrintedOnce()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("cell_pixels: 8", "cell_pixels: -8\n  dpi: -3", StringComparison.Ordinal));
        var before = Snapshot(ws.Root);
        var (code, output) = BuildSh(On(ws));
        Assert.True(code == 2, output);
        Assert.True(Count(output, "cell_pixels -8 is out of range") == 1, output);
        // Both problems of the file, each on its own error line.
        var errors = output.Split('\n').Where(l => l.Contains("error: ", StringComparison.Ordinal) && l.Contains($"{ws.ExperimentPath}:", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 2 && errors.Any(e => e.Contains("dpi", StringComparison.Ordinal)), output);
        Assert.False(Directory.Exists(ws.CacheDir), "cache/ was created for a rejected run");
        Assert.False(Directory.Exists(ws.FiguresDir), "figures/ was created for a rejected run");
        Assert.Equal(before, Snapshot(ws.Root));

        (code, output) = BuildSh(On(ws, "--frce"));
        Assert.True(code == 2, output);
        Assert.True(Count(output, "unknown option --frce — did you mean --force?") == 1, output);

        // An option of another target would be ignored: refused instead.
        (code, output) = BuildSh(On(ws, "--orphans"));
        Assert.True(code == 2, output);
        Assert.True(Count(output, "--orphans applies to --target=Clean, not Figures") == 1, output);
        Assert.False(Directory.Exists(ws.CacheDir), output);
    }

    [Fact]
    public void HelpAndTargetsComeFromTheTables()
    {
        var (code, output) = BuildSh("--help");
        Assert.True(code == 0, output);
        foreach (var t in KnownTargets.All) Assert.Contains($"  {t.Name} ", output);
        foreach (var o in KnownOptions.All) Assert.Contains($"--{o.Name}", output);
        Assert.DoesNotContain("--verbosity", output); // Cake's own help

        (code, output) = BuildSh("--target=NoSuch");
        Assert.True(code == 2, output);
        Assert.True(Count(output, "unknown target 'NoSuch'") == 1, output);
        Assert.Contains(string.Join(", ", KnownTargets.All.Select(t => t.Name)), output);
        (code, output) = BuildSh("--target=Archve");
        Assert.Contains("did you mean Archive?", output);

        var cli = TtaProcess.Run(TtaProcess.Cli(["--help"]));
        Assert.True(cli.Code == 0, cli.Output);
        foreach (var verb in TtaCli.Verbs) Assert.Contains($"  {verb}", cli.Output); // each verb's options: CliParserTests
    }

    [Fact]
    public void ADryRunListsWhatWouldRunAndWritesNothing()
    {
        var ws = new TinyWorkspace();
        var before = Snapshot(ws.Root);
        var (code, output) = BuildSh(On(ws, "--dry-run"));
        Assert.True(code == 0, output);
        Assert.Contains("Download local/", output);
        Assert.Contains(": would run — never built (no manifest)", output);
        Assert.Contains("Figures tiny/explorer: would run — ", output);
        Assert.Contains("dry run: 8 unit(s) would run", output);
        Assert.Equal(before, Snapshot(ws.Root)); // no cache/, lock, manifest or figure

        (code, output) = BuildSh(On(ws));
        Assert.True(code == 0, output);
        before = Snapshot(ws.Root);
        (code, output) = BuildSh(On(ws, "--dry-run", "--force-stage=Metrics", "--target=Archive"));
        Assert.True(code == 0, output);
        Assert.Contains("Metrics tiny/tiny/one: would run — forced", output);
        Assert.Contains("Extract tiny/tiny/one: up to date", output);
        Assert.Contains("dry run: 2 unit(s) would run", output);
        Assert.Contains("dry run: would archive 'tiny'", output);
        Assert.Equal(before, Snapshot(ws.Root));
    }

    [Fact]
    public void CtrlCSaysWhatWasInterruptedAndTheNextRunRedoesIt()
    {
        var ws = new TinyWorkspace();
        // Extract stalls half-way through writing its activations (after two blocks), as a long unit would.
        var start = TtaProcess.Command("setsid", [Path.Combine(Repo.Root, "build.sh"), .. On(ws)],
            new Dictionary<string, string> { ["TTA_FAULT_STALL_AFTER_BLOCKS"] = "2" });
        using var build = Process.Start(start)!;
        var output = new StringBuilder();
        void Collect(object? _, DataReceivedEventArgs e)
        {
            lock (output) output.AppendLine(e.Data);
        }
        build.OutputDataReceived += Collect;
        build.ErrorDataReceived += Collect;
        build.BeginOutputReadLine();
        build.BeginErrorReadLine();
        string Text()
        {
            lock (output) return output.ToString();
        }
        var unitDir = Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one");
        bool HalfWritten() => Directory.Exists(unitDir) && Directory.GetFiles(unitDir, ".tmp-*").Length > 0;
        var watch = Stopwatch.StartNew();
        while (!HalfWritten() && !build.HasExited && watch.Elapsed < Limit) Thread.Sleep(100);
        Assert.False(build.HasExited, Text());
        // Ctrl-C on a terminal signals the whole foreground process group: build.sh, Cake and the run.
        Assert.Equal(0, TtaProcess.Run(TtaProcess.Command("kill", ["-INT", "--", $"-{build.Id}"])).Code);
        if (!build.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            build.Kill(entireProcessTree: true);
            Assert.Fail("still running a minute after Ctrl-C:\n" + Text());
        }
        build.WaitForExit();
        var log = Text();
        Assert.NotEqual(0, build.ExitCode);
        // The other text's Extract runs side by side with it (and stalls too) unless the interrupt came first.
        Assert.Matches(@"interrupted: [^;]*Extract tiny/tiny/one[^;]* (was|were) running; (it is|they are) not recorded as built", log);
        Assert.Matches("the next run redoes (it|them)", log);
        Assert.Matches(@"\((Extract 1, )?Metrics 2, Figures 3\)", log);
        Assert.Contains("Extract was interrupted", log);
        Assert.Equal("Failed", Summary(log)["Extract-Activations"].Status);
        // Half-written: a temporary file, no output and no manifest, so nothing of it is trusted.
        Assert.True(HalfWritten(), log);
        Assert.False(File.Exists(Path.Combine(unitDir, "manifest.json")), log);
        Assert.False(File.Exists(Path.Combine(unitDir, "activations.parquet")), log);

        var (code, rerun) = BuildSh(On(ws, "--explain"));
        Assert.True(code == 0, rerun);
        Assert.Contains("Extract tiny/tiny/one: stale — never built (no manifest)", rerun);
        Assert.Empty(Directory.GetFiles(unitDir, ".tmp-*"));
        Assert.True(File.Exists(Path.Combine(unitDir, "manifest.json")), rerun);
    }

    [Fact]
    public async Task SigintToTtaCliRunSaysWhatWasRunningAndEndsAsInterrupted()
    {
        var ws = new TinyWorkspace();
        var start = TtaProcess.Cli(ws.Args("run", "--stage=Download", "--through=Figures"), new Dictionary<string, string> { ["TTA_FAULT_STALL_AFTER_BLOCKS"] = "1" });
        using var run = Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var errors = run.StandardError.ReadToEndAsync();
        var unitDir = Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one");
        var watch = Stopwatch.StartNew();
        while (!(Directory.Exists(unitDir) && Directory.GetFiles(unitDir, ".tmp-*").Length > 0) && !run.HasExited && watch.Elapsed < Limit) Thread.Sleep(100);
        Assert.False(run.HasExited, "the run ended before Extract stalled");
        Assert.Equal(0, TtaProcess.Run(TtaProcess.Command("kill", ["-INT", run.Id.ToString(CultureInfo.InvariantCulture)])).Code);
        Assert.True(run.WaitForExit(TimeSpan.FromMinutes(1)), "still running a minute after SIGINT");
        var log = await output + await errors;
        Assert.Equal(130, run.ExitCode); // ended by the signal, as an interrupted command does
        Assert.Matches(@"interrupted: [^;]*Extract tiny/tiny/one[^;]* (was|were) running", log); // with the other text's, side by side
        Assert.Contains("1 unit(s) finished before and stay built", log); // Download
        Assert.False(File.Exists(Path.Combine(unitDir, "manifest.json")), log);
        Assert.Contains("Extract:tiny/tiny/one\tstale", ws.Cli("units").Output);
    }
}
