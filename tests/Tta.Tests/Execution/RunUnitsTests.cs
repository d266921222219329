namespace Tta.Tests.Execution;

/// <summary>
/// <c>tta-cli run --unit</c> with several units (a Slurm task's group): one process, the model loaded once, and a
/// failing unit that does not keep the others from being built.
/// </summary>
[Trait("Lane", "Full")]
public class RunUnitsTests
{
    private static int Loads(string log) => log.Split('\n').Count(l => l.StartsWith(Tta.Extract.ExtractStage.LoadLinePrefix, StringComparison.Ordinal));

    [Fact]
    public void SeveralUnitsRunInOneProcessAndLoadTheirModelOnce()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var (code, log) = ws.Cli("run", "--unit=Extract:tiny/tiny/one,Extract:tiny/tiny/two", "--jobs=1");
        Assert.True(code == 0, log);
        Assert.Equal(1, Loads(log));
        Assert.Contains("Extract tiny/tiny/one: done", log);
        Assert.Contains("Extract tiny/tiny/two: done", log);
        // Repeated --unit works the same; built units are up to date.
        (code, log) = ws.Cli("run", "--unit=Extract:tiny/tiny/one", "--unit=Extract:tiny/tiny/two");
        Assert.True(code == 0, log);
        Assert.Equal(2, log.Split('\n').Count(l => l.EndsWith(": up to date", StringComparison.Ordinal)));
    }

    [Fact]
    public void AFailingUnitDoesNotStopTheOthersAndTheRunFailsNamingIt()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        // A folder where text one's activations go: that unit cannot move its file into place.
        Directory.CreateDirectory(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "activations.parquet", "in-the-way"));
        var (code, log) = ws.Cli("run", "--unit=Extract:tiny/tiny/one,Extract:tiny/tiny/two", "--jobs=1");
        Assert.NotEqual(0, code);
        Assert.Contains("Extract tiny/tiny/one: failed", log);
        Assert.Contains("Extract tiny/tiny/two: done", log); // run after one failed
        Assert.True(File.Exists(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "two", "manifest.json")));
        Assert.Equal(1, Loads(log));
    }
}
