using Tta.Bench;

namespace Tta.Tests.Bench;

/// <summary>
/// tta-bench's command line (./build.sh --target=Bench and --target=Synth run it): its verbs and options, checked before
/// anything runs. SyntheticCheckpointTests runs its synth verb; the benchmarks' own tests run each benchmark small.
/// </summary>
public class TtaBenchTests
{
    private static (int Code, string Out, string Error) Run(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = TtaBench.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void HelpNamesEachVerbAndTheBenchmarksOptions()
    {
        var (code, output, _) = Run("help");
        Assert.Equal(0, code);
        foreach (var text in new[] { "  bench ", "  synth ", "--only=store,load,memory,compute,extract,figures,tokenizers,scaleout,corpus-extract,noop,study", "--falcon-layers=N", "--shape=NAME", "--weights=random|empty", "--root=DIR" })
            Assert.Contains(text, output);
        Assert.Equal(output, Run("synth", "--help").Out);
    }

    [Fact]
    public void AnUnknownVerbOrOptionIsBadInputWithTheClosestName()
    {
        var (code, _, error) = Run("snyth", "--shape=falcon-7b");
        Assert.Equal(TtaBench.BadInput, code);
        Assert.Contains("unknown verb 'snyth' — did you mean 'synth'?", error);

        (code, _, error) = Run("bench", "--onyl=store");
        Assert.Equal(TtaBench.BadInput, code);
        Assert.Contains("unknown option --onyl — did you mean --only?", error);

        // an option of the other verb is not one of this verb's
        (code, _, error) = Run("synth", "--only=store", "--shape=falcon-7b", "--out=x");
        Assert.Equal(TtaBench.BadInput, code);
        Assert.Contains("unknown option --only", error);

        (code, _, error) = Run("synth", "--shape", "--out=x");
        Assert.Equal(TtaBench.BadInput, code);
        Assert.Contains("option --shape needs a value", error);
    }

    [Fact]
    public void AnUnknownBenchmarkIsRefusedListingThemBeforeAnyRuns()
    {
        var (code, output, error) = Run("bench", "--only=store,nosuch", $"--work={Repo.TempDir()}");
        Assert.Equal(1, code);
        Assert.Equal("", output); // store did not run
        Assert.Contains("--only=nosuch: no such benchmark; write one or more of store,load,memory,compute,extract,figures,tokenizers,scaleout,corpus-extract,noop,study", error);
    }
}
