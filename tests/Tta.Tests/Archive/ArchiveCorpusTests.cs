using System.Text.Json.Nodes;
using Tta.Archive;

namespace Tta.Tests.Archive;

/// <summary>An experiment with a corpus archives and verifies: figures only of its single texts, the explorer's chosen texts.</summary>
[Trait("Lane", "Full")]
public class ArchiveCorpusTests
{
    [Fact]
    public void ACorpusExperimentArchivesAndVerifies()
    {
        // The corpus entry comes first, so the file text after it is entry 1 of texts: but text 3 of the experiment.
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml
            .Replace("texts:\n", "texts:\n  - name: s\n    corpus: texts/s.txt\n")
            .Replace("  - name: two\n    text: \"a dog ran to the park!\"\n", "")
            + "\nexplorer:\n  texts: [s-2, one]\n");
        File.WriteAllText(Path.Combine(ws.Root, "experiments", "texts", "s.txt"), "a dog ran.\nthe cat sat.\n");
        ws.RunAll();
        var (code, output) = ws.Cli("archive");
        Assert.True(code == 0, output);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(ws.FiguresDir, "archives"), "*.zip"));
        var members = ArchivedTinyExperiment.Members(archive);
        var names = members.Keys.ToList();
        Assert.Contains("experiment/texts/one.txt", names);
        Assert.Contains(names, n => n.StartsWith("figures/tiny/tiny/one/", StringComparison.Ordinal));
        Assert.DoesNotContain(names, n => n.StartsWith("figures/tiny/tiny/s-", StringComparison.Ordinal));
        Assert.Contains("cache/metrics/tiny/tiny/s-1/similarity.parquet", names);
        var run = JsonNode.Parse(members[ExperimentArchive.RunManifestName])!["experiment"]!;
        Assert.Equal("s", run["texts"]![0]!["corpus"]!.GetValue<string>());
        Assert.Null(run["texts"]![2]!["corpus"]);
        Assert.Equal("[\"s-2\",\"one\"]", run["explorer"]!["texts"]!.ToJsonString());
        var report = ArchiveVerifier.Verify(archive, TextWriter.Null);
        Assert.Empty(report.Problems);
    }
}
