using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Metrics;
using Tta.Pipeline;

namespace Tta.Tests.Pipeline;

/// <summary>How corpus texts reach the stages: per-text figures off by default, the explorer's chosen texts, errors at the corpus row.</summary>
public class CorpusStagesTests
{
    private static (Workspace Ws, Experiment E) Experiment(string texts, string extra = "")
    {
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "s.txt"), "One sentence.\nTwo sentences.\nThree sentences.\n");
        var path = Path.Combine(dir, "exp.yaml");
        File.WriteAllText(path, $"name: study\nmodels:\n  - id: org/model\n    source: hub\ntexts:\n{texts}\n{extra}");
        return (Workspace.At(dir), ExperimentLoader.Load(path, MetricKinds.Default.Settings));
    }

    private static List<StageUnit> FiguresUnits(Workspace ws, Experiment e)
    {
        using var context = new RunContext(ws, [e], TextWriter.Null);
        return [.. Stages.Units(FiguresStage.Name, context)];
    }

    private const string CorpusOnly = "  - name: s\n    corpus: s.txt";

    [Fact]
    public void ACorpusWithDefaultFiguresHasOnlyTheExplorerUnit()
    {
        var (ws, e) = Experiment(CorpusOnly);
        Assert.IsType<ExplorerUnit>(Assert.Single(FiguresUnits(ws, e)));
        // It reads no figure unit, and every text's activations and metrics (3 texts ≤ the default 5).
        var inputs = new ExplorerUnit(ws, e, MetricKinds.Default).Declare().Inputs;
        Assert.DoesNotContain(inputs, i => i.Unit is FiguresUnit);
        Assert.Equal(3, inputs.Count(i => i.File == Tta.Extract.ExtractStage.ActivationsFile));
        Assert.Equal(3, inputs.Count(i => i.File == "similarity.parquet"));
    }

    [Fact]
    public void PerTextTrueGivesCorpusTextsTheirFigures()
    {
        var (ws, e) = Experiment("  - name: one\n    text: A text.\n" + CorpusOnly, "figures:\n  per_text: true\n");
        Assert.Equal(["study/org--model/one", "study/org--model/s-1", "study/org--model/s-2", "study/org--model/s-3", "study/explorer"],
            FiguresUnits(ws, e).Select(u => u.Key));
        (ws, e) = Experiment("  - name: one\n    text: A text.\n" + CorpusOnly);
        Assert.Equal(["study/org--model/one", "study/explorer"], FiguresUnits(ws, e).Select(u => u.Key));
    }

    [Fact]
    public void TheExplorerReadsTheMetricsOfItsTextsOnlyAndDeclaresTheSectionOnlyWhenGiven()
    {
        var (ws, e) = Experiment(CorpusOnly);
        Assert.DoesNotContain("explorer.texts", new ExplorerUnit(ws, e, MetricKinds.Default).Declare().Params.Keys);
        (ws, e) = Experiment(CorpusOnly, "explorer:\n  texts: [s-2]\n");
        var declaration = new ExplorerUnit(ws, e, MetricKinds.Default).Declare();
        Assert.Equal("[\"s-2\"]", declaration.Params["explorer.texts"]);
        Assert.Equal(3, declaration.Inputs.Count(i => i.File == Tta.Extract.ExtractStage.ActivationsFile)); // the run details list every unit
        var metrics = Assert.Single(declaration.Inputs, i => i.File == "similarity.parquet");
        Assert.EndsWith("/s-2", metrics.Unit.Key, StringComparison.Ordinal);
        (ws, e) = Experiment(CorpusOnly, "explorer:\n  texts: 1\n");
        Assert.Equal("1", new ExplorerUnit(ws, e, MetricKinds.Default).Declare().Params["explorer.texts"]);
    }

    [Fact]
    public void ATextOverMaxTokensIsReportedAtItsCorpusRow()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace(
            "  - name: two\n    text: \"a dog ran to the park!\"", "  - name: s\n    corpus: texts/s.txt") + "\nextract:\n  max_tokens: 10\n");
        File.WriteAllText(Path.Combine(ws.Root, "experiments", "texts", "s.txt"), "a dog ran.\nthe cat sat on the mat and the dog ran to the park.\n");
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.NotEqual(0, code);
        Assert.Contains($"{Path.Combine("texts", "s.txt")}:2:1: text 's-2' is ", output);
        Assert.Contains("more than extract.max_tokens = 10", output);
    }
}
