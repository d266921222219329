namespace Tta.Tests.Cache;

/// <summary>
/// An experiment name stays bound to its file (results are stored by name), and results no experiment describes any
/// more are listed by --explain and removed by Clean --orphans, current results kept. Real runs of the tiny model.
/// </summary>
public class ExperimentOwnerTests
{
    private static (int Code, string Output) Cli(TinyWorkspace ws, string experiment, string verb, params string[] extra)
    {
        var output = new StringWriter();
        var code = TtaCli.Run([verb, $"--root={ws.Root}", $"--experiment={experiment}", .. extra], output, output);
        return (code, output.ToString());
    }

    private static (int Code, string Output) RunAll(TinyWorkspace ws, string experiment) =>
        Cli(ws, experiment, "run", "--stage=Download", "--through=Figures");

    [Fact]
    public void ASecondFileClaimingAnExperimentNameIsAnErrorUntilTheFirstIsGone()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, RunAll(ws, ws.ExperimentPath).Code);
        var copy = Path.Combine(ws.Root, "experiments", "copy.yaml");
        File.Copy(ws.ExperimentPath, copy); // copied, and the name left as it was
        var before = ws.Snapshot();

        var (code, output) = RunAll(ws, copy);
        Assert.Equal(TtaCli.BadInput, code);
        Assert.Contains("experiments/copy.yaml:1:7: experiment name 'tiny' belongs to experiments/tiny.yaml", output);
        Assert.Contains("give this experiment its own 'name:'", output);
        Assert.Equal(before, ws.Snapshot()); // nothing written, the first file's results intact
        Assert.Equal(TtaCli.BadInput, Cli(ws, copy, "status", "--stage=Figures").Code);

        // Renamed, the copy runs beside the first; the first still owns its name.
        File.WriteAllText(copy, File.ReadAllText(copy).Replace("name: tiny\n", "name: copy\n", StringComparison.Ordinal));
        Assert.Equal(0, RunAll(ws, copy).Code);
        Assert.Equal(0, Cli(ws, ws.ExperimentPath, "status", "--stage=Figures").Code);

        // Once the first file names itself otherwise, or is gone, the name passes on.
        var third = Path.Combine(ws.Root, "experiments", "third.yaml");
        File.WriteAllText(third, File.ReadAllText(ws.ExperimentPath));
        Assert.Equal(TtaCli.BadInput, RunAll(ws, third).Code);
        File.WriteAllText(ws.ExperimentPath, File.ReadAllText(ws.ExperimentPath).Replace("name: tiny\n", "name: renamed\n", StringComparison.Ordinal));
        Assert.Equal(0, RunAll(ws, third).Code);
        var fourth = Path.Combine(ws.Root, "experiments", "fourth.yaml");
        File.Copy(third, fourth);
        Assert.Contains("belongs to experiments/third.yaml", RunAll(ws, fourth).Output);
        File.Delete(third);
        Assert.Equal(0, RunAll(ws, fourth).Code);
    }

    [Fact]
    public void ARenamedTextLeavesFoldersThatExplainListsAndCleanOrphansRemoves()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, RunAll(ws, ws.ExperimentPath).Code);
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("- name: two", "- name: deux", StringComparison.Ordinal));
        Assert.Equal(0, RunAll(ws, ws.ExperimentPath).Code);

        var (code, explain) = ws.Cli("status", "--stage=Figures", "--explain");
        Assert.Equal(0, code); // up to date: the old folders are not a reason to run
        foreach (var folder in new[] { "cache/extract/tiny/tiny/two/", "cache/metrics/tiny/tiny/two/", "cache/figures/tiny/tiny/two/", "figures/tiny/tiny/two/" })
            Assert.Contains($"no experiment describes {folder} any more", explain);
        Assert.Contains("`./build.sh --target=Clean --orphans` removes it", explain);
        Assert.DoesNotContain("describes figures/tiny/tiny/deux", explain);
        Assert.DoesNotContain("describes figures/tiny/tiny/one", explain);

        var (cleaned, output) = ws.Cli("clean", "--orphans");
        Assert.True(cleaned == 0, output);
        Assert.False(Directory.Exists(Path.Combine(ws.FiguresDir, "tiny", "tiny", "two")));
        Assert.False(Directory.Exists(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "two")));
        Assert.True(Directory.Exists(Path.Combine(ws.FiguresDir, "tiny", "tiny", "deux")));
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" })
            Assert.Equal(0, ws.Cli("status", $"--stage={stage}").Code); // current results kept, nothing to rebuild
        Assert.DoesNotContain("no experiment describes", ws.Cli("status", "--stage=Figures", "--explain").Output);
    }

    [Fact]
    public void AnExperimentWhoseFileIsGoneIsAnOrphanAndPlainCleanStillRemovesEverything()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, RunAll(ws, ws.ExperimentPath).Code);
        var other = Path.Combine(ws.Root, "experiments", "other.yaml");
        File.WriteAllText(other, TinyWorkspace.DefaultYaml.Replace("name: tiny", "name: other", StringComparison.Ordinal));
        Assert.Equal(0, RunAll(ws, other).Code);
        File.Delete(other);

        Assert.Contains("no experiment describes figures/other/ any more", ws.Cli("status", "--stage=Figures", "--explain").Output);
        Assert.Equal(0, ws.Cli("clean", "--orphans").Code);
        Assert.False(Directory.Exists(Path.Combine(ws.FiguresDir, "other")));
        Assert.False(File.Exists(Path.Combine(ws.CacheDir, "experiments", "other.json")));
        Assert.True(File.Exists(Path.Combine(ws.CacheDir, "experiments", "tiny.json")));
        Assert.Equal(0, ws.Cli("status", "--stage=Figures").Code);

        Assert.Equal(0, ws.Cli("clean").Code);
        Assert.Empty(Directory.EnumerateFiles(ws.CacheDir, "*.json", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(ws.FiguresDir));
    }
}
