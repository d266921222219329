using System.Diagnostics;

namespace Tta.Tests.Cache;

/// <summary>
/// Reliability: Clean removes only what tta wrote, in folders tta created; one run lock spans a whole run, so Clean
/// (and another run) waits instead of pulling files from under it. Real folders, real processes, real flock(2) locks
/// (util-linux flock holds the same kind of lock a run holds).
/// </summary>
[Trait("Lane", "Full")]
public class CleanAndLockTests
{

    private static string Tree(string dir) => string.Join("\n", Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
        .Select(f => $"{Path.GetRelativePath(dir, f)} {new FileInfo(f).Length}").Order(StringComparer.Ordinal));

    [Fact]
    public void FoldersTtaDidNotCreateAreNeverCleaned()
    {
        var ws = new TinyWorkspace();
        var thesis = Path.Combine(ws.Root, "thesis");
        Directory.CreateDirectory(thesis);
        File.WriteAllText(Path.Combine(thesis, "thesis.tex"), "\\documentclass{article}");
        var other = Path.Combine(ws.Root, "other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "data.csv"), "1,2");
        var before = Tree(ws.Root);

        var (code, output) = ws.Cli("clean", $"--cache={thesis}", $"--figures={other}");
        Assert.Equal(1, code);
        Assert.Contains($"refusing to clean {thesis}: tta did not create it", output);
        Assert.Contains("nothing was deleted", output);
        // --figures=. names the checkout itself.
        (code, output) = ws.Cli("clean", "--figures=.");
        Assert.Equal(1, code);
        Assert.Contains("refusing to clean", output);
        Assert.Equal(before, Tree(ws.Root));

        // A run into a folder that exists already does not mark it as tta's: Clean still refuses afterwards.
        Assert.Equal(0, ws.Cli("run", "--stage=Download", $"--cache={thesis}").Code);
        (code, _) = ws.Cli("clean", $"--cache={thesis}");
        Assert.Equal(1, code);
        Assert.True(File.Exists(Path.Combine(thesis, "thesis.tex")));
    }

    [Fact]
    public void CleanRemovesOnlyTheFilesTtaWrote()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        Assert.Equal(0, ws.Cli("archive").Code);
        var notes = Path.Combine(ws.FiguresDir, "tiny", "notes.txt");
        File.WriteAllText(notes, "my notes");
        var mine = Path.Combine(ws.CacheDir, "extract", "keep-me.txt");
        File.WriteAllText(mine, "mine");
        var model = Tree(Path.Combine(ws.Root, "experiments"));

        var (code, output) = ws.Cli("clean");
        Assert.True(code == 0, output);
        Assert.Contains("kept 2 file(s) that tta did not write", output);
        Assert.Contains("figures/tiny/notes.txt", output);
        Assert.Equal(["figures/.tta-folder", "figures/tiny/notes.txt"],
            Directory.GetFiles(ws.FiguresDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(ws.Root, f)).Order(StringComparer.Ordinal));
        Assert.Equal(["cache/.lock", "cache/.tta-folder", "cache/extract/keep-me.txt"],
            Directory.GetFiles(ws.CacheDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(ws.Root, f)).Order(StringComparer.Ordinal));
        Assert.Equal(model, Tree(Path.Combine(ws.Root, "experiments"))); // the local model lives outside: untouched

        // With nothing of its own left, figures/ goes entirely; the cache keeps its lock file.
        File.Delete(notes);
        Assert.Equal(0, ws.Cli("clean").Code);
        Assert.False(Directory.Exists(ws.FiguresDir));
        ws.RunAll();
    }

    private static bool Held(string lockFile) =>
        TtaProcess.Run(TtaProcess.Command("flock", ["-n", lockFile, "true"])).Code != 0;

    [Fact]
    public async Task CleanWaitsForARunBetweenItsStages()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code); // creates cache/ (marked) and its lock file
        var lockFile = Path.Combine(ws.CacheDir, ".lock");
        // A run as build.sh makes it: a parent holds the lock for the whole run and tells its stage processes, which
        // run one after another with a pause between stages, where Clean used to slip in.
        var stages = string.Join(" && ", new[] { "Extract", "Metrics", "Figures" }.Select(s =>
            $"sleep 1 && dotnet '{TtaProcess.CliDll}' run --stage={s} --explain --root='{ws.Root}' --experiment='{ws.ExperimentPath}'"));
        var script = $"export TTA_RUN_LOCK=exclusive:$PPID:{lockFile}; {stages}";
        using var run = Process.Start(TtaProcess.Command("flock", ["-x", lockFile, "sh", "-c", script]))!;
        var runOutput = run.StandardOutput.ReadToEndAsync();
        var runErrors = run.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        while (!Held(lockFile) && watch.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(50);

        var (code, output) = TtaProcess.RunCli(ws, "clean", []);
        await run.WaitForExitAsync();
        var log = await runOutput + await runErrors;
        Assert.True(run.ExitCode == 0, log);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(log, "working under the run lock of process").Count); // Extract, Metrics, Figures
        Assert.True(code == 0, output);
        Assert.Contains("waiting for another tta run", output);
        Assert.DoesNotContain("not built yet", log);
        Assert.False(File.Exists(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "manifest.json")), "Clean ran after the run");
    }

    [Fact]
    public void AWaitingRunNamesTheProcessThatHoldsTheLockNow()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        // An exclusive holder that has ended: its pid used to stay in the lock file and be named as the holder.
        var (code, output) = TtaProcess.RunCli(ws, "clean", []);
        Assert.True(code == 0, output);
        var lockFile = Path.Combine(ws.CacheDir, ".lock");
        // Held shared now, as Cake holds it for a whole run.
        using var holder = Process.Start(TtaProcess.Command("flock", ["-s", lockFile, "sleep", "3"]))!;
        var watch = Stopwatch.StartNew();
        while (!Held(lockFile) && watch.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(50);
        (code, output) = TtaProcess.RunCli(ws, "clean", []);
        Assert.True(code == 0, output);
        Assert.Contains($"waiting for another tta run (pid {holder.Id}) that holds {lockFile}", output);
        holder.WaitForExit();
    }

    [Fact]
    public void ARunWaitsForTheLockAndAStaleVariableGrantsNothing()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var lockFile = Path.Combine(ws.CacheDir, ".lock");
        // Held by a process that is not our ancestor: the variable names it, but the run must wait anyway.
        using var holder = Process.Start(TtaProcess.Command("flock", ["-x", lockFile, "sleep", "4"]))!;
        var watch = Stopwatch.StartNew();
        while (!Held(lockFile) && watch.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(50);
        watch.Restart();
        var (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Extract"],
            new Dictionary<string, string> { ["TTA_RUN_LOCK"] = $"exclusive:{holder.Id}:{lockFile}" });
        Assert.True(code == 0, output);
        Assert.Contains("waiting for another tta run", output);
        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(1.5), $"ran after {watch.Elapsed.TotalSeconds:0.0} s, while the lock was held");
        holder.WaitForExit();
    }
}
