using Xunit.Abstractions;
using Tta.Core;

namespace Tta.Tests.Core;

/// <summary>
/// Reliability: temporary files never outlive a run. A crashed writer's leftovers are removed at the start of the next
/// run; on a full disk (a real tmpfs that is too small) every failed write removes its own, even though closing the
/// file fails too.
/// </summary>
[Trait("Lane", "Full")]
public class TempFileTests(ITestOutputHelper log)
{
    private static List<string> TempFiles(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, ".tmp-*", SearchOption.AllDirectories).ToList() : [];

    [Fact]
    public void ACrashedWritersTempFileIsRemovedByTheNextRun()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        // One unit at a time, so the crash leaves exactly one writer's temp file.
        var (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Extract", "--jobs=1"], new Dictionary<string, string> { ["TTA_FAULT_CRASH_AFTER_BLOCKS"] = "2" });
        Assert.NotEqual(0, code);
        var left = Assert.Single(TempFiles(ws.CacheDir));
        Assert.StartsWith(".tmp-activations.parquet-", Path.GetFileName(left));

        (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code == 0, output);
        Assert.Contains($"removed {left}: a temporary file left by process", output);
        Assert.Empty(TempFiles(ws.CacheDir));
    }

    [Fact]
    public void OnlyThisHostsTempFilesOfEndedProcessesAreRemoved()
    {
        var dir = Repo.TempDir();
        // A process id no process has here (above the kernel's largest), so each writer below has ended, on this host.
        const int Ended = 99_999_999;
        var guid = Guid.NewGuid().ToString("N");
        var mine = Path.Combine(dir, $".tmp-a.parquet-{Ended}@{Tta.Core.TempFiles.ThisHost}-{guid}");
        var legacy = Path.Combine(dir, $".tmp-b.parquet-{Ended}-{guid}");
        // A task on another node of a cluster may still be writing this one: its process id means nothing here.
        var otherHost = Path.Combine(dir, $".tmp-c.parquet-{Ended}@{Tta.Core.TempFiles.ThisHost}-node7-{guid}");
        var live = AtomicFile.TempPathFor(Path.Combine(dir, "d.parquet"));
        foreach (var f in new[] { mine, legacy, otherHost, live })
            File.WriteAllText(f, "x");
        Assert.Contains($"-{Environment.ProcessId}@{Tta.Core.TempFiles.ThisHost}-", Path.GetFileName(live));

        Assert.Equal([mine, legacy], Tta.Core.TempFiles.RemoveStale([dir]).Order(StringComparer.Ordinal));
        Assert.Equal([otherHost, live], TempFiles(dir).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AFullDiskLeavesNoTempFiles()
    {
        // Every capture point of a 51-token text: about a quarter of a megabyte of activations.
        var words = string.Join(" ", Enumerable.Repeat("the cat sat on the mat.", 7));
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml
            .Replace("text: \"a dog ran to the park!\"", $"text: \"{words}\"", StringComparison.Ordinal)
            .Replace("figures:", "extract:\n  points: [\"*\"]\nfigures:", StringComparison.Ordinal));
        var cache = Path.Combine(ws.Root, "small-disk");
        Directory.CreateDirectory(cache);
        string Cli(string stage) =>
            $"dotnet '{TtaProcess.CliDll}' run --stage={stage} --root='{ws.Root}' --experiment='{ws.ExperimentPath}' --cache='{cache}'";
        // In a mount namespace of its own, a 64 KiB tmpfs as the cache: Download's records fit, the activations of
        // the long text do not. Each failed run must give back all it took (before, each left one more temp file).
        string Free(string key) => "echo \"" + key + "=$(df --output=avail -B1 '" + cache + "' | tail -1)\"";
        var script = string.Join("\n",
            $"mount -t tmpfs -o size=64k tmpfs '{cache}' || exit 97",
            Cli("Download") + " || exit 98",
            Cli("Extract") + "; echo \"first=$?\"",
            $"echo left:; find '{cache}' -name '.tmp-*'; echo end",
            Free("free-first"),
            Cli("Extract") + "; echo \"second=$?\"",
            Cli("Extract") + "; echo \"third=$?\"",
            Free("free-third"),
            $"echo left:; find '{cache}' -name '.tmp-*'; echo end");
        (int Code, string Output) result = (-1, "");
        foreach (var unshare in new[] { new[] { "-m" }, ["-r", "-m"] })
        {
            result = TtaProcess.Run(TtaProcess.Command("unshare", [.. unshare, "sh", "-c", script]));
            if (result.Output.Contains("first=", StringComparison.Ordinal)) break;
        }
        if (!result.Output.Contains("first=", StringComparison.Ordinal))
        {
            // Mounting needs CAP_SYS_ADMIN or user namespaces; CI (a root machine) must allow it.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"could not mount a tmpfs for the full-disk check: {result.Output}");
            log.WriteLine($"SKIPPED: cannot mount a tmpfs here ({result.Output.Trim()})");
            return;
        }
        var output = result.Output;
        Assert.Contains("first=1", output);
        Assert.Contains("second=1", output);
        Assert.Contains("third=1", output);
        Assert.Contains("No space left on device", output);
        var lines = output.Split('\n');
        for (var i = 0; i < lines.Length; i++)
            if (lines[i] == "left:") Assert.True(lines[i + 1] == "end", output);
        string Value(string key) => lines.Single(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..].Trim();
        Assert.Equal(Value("free-first"), Value("free-third"));
    }
}
