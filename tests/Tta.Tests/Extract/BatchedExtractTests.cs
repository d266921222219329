using System.Text.Json.Nodes;
using Tta.Extract;
using Tta.Store;
using Xunit.Abstractions;

namespace Tta.Tests.Extract;

/// <summary>
/// <c>extract.batch</c>: how texts are grouped (<see cref="ExtractBatches"/>), and batched Extract against one text
/// per forward pass — the same stores (points, tokens) with every value within 1e-6 — with the param declared only
/// above 1, so experiments without it keep their fingerprints.
/// </summary>
public class BatchedExtractTests(ITestOutputHelper output)
{
    [Fact]
    public void WindowsOfFourBatchesAreSortedByLengthAndCutIntoBatches()
    {
        int[] lengths = [5, 3, 9, 3, 7, 1, 8, 2, /* second window */ 4, 6, 2];
        Assert.Equal(8, ExtractBatches.WindowSize(2));
        int[][] expected = [[5, 7], [1, 3], [0, 4], [6, 2], [10, 8], [9]];
        Assert.Equal(expected, ExtractBatches.All(lengths, 2));
        Assert.Equal(8, ExtractBatches.WindowStart(10, 2));
        // A text left out (over max_tokens) is in no batch; the others keep their order.
        Assert.Equal([[5, 7], [1, 3], [0, 6], [2]], ExtractBatches.Window(0, lengths.Length, 2, i => i == 4 ? null : lengths[i]));
    }

    private const string Yaml = TinyWorkspace.NameAndModel + """
        texts:
          - name: one
            file: texts/one.txt
          - name: two
            text: "a dog ran to the park!"
          - name: three
            text: "cat"
          - name: four
            text: "the dog sat on a mat, the cat ran to a park; a dog and a cat sat."
          - name: five
            text: "zebras quietly ran"
          - name: six
            text: "a park"
          - name: seven
            text: "the mat on the mat on the mat?"
        metrics:
          attention: { layers: [1] }
        """;

    private static (TinyWorkspace Workspace, string Log) Extracted(string extract)
    {
        var ws = new TinyWorkspace(Yaml + "\n" + extract);
        var log = "";
        foreach (var stage in new[] { "Download", "Extract" })
        {
            (var code, log) = ws.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, log);
        }
        return (ws, log);
    }

    private static string Folder(TinyWorkspace ws, string text) => Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", text);

    private static JsonObject Components(TinyWorkspace ws, string text) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(ws, text), "manifest.json")))!["components"]!.AsObject();

    [Fact]
    [Trait("Lane", "Full")]
    public async Task BatchedStoresEqualOneTextAtATimeWithinOneMillionth()
    {
        var (single, singleLog) = Extracted("");
        var (batched, batchedLog) = Extracted("extract:\n  batch: 3\n");
        // 7 texts, one window of 12: batches of 3, 3 and 1 by length, each one forward pass whose batch-mates' units
        // store what the pass kept for them.
        Assert.DoesNotContain("forward pass", singleLog);
        var passes = batchedLog.Split('\n').Where(l => l.Contains("one forward pass of", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        passes.ForEach(output.WriteLine);
        // Units of different batches run side by side, so the passes may be logged in any order.
        Assert.Equal([1, 3, 3], passes.Select(l => int.Parse(l.Split("one forward pass of ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).Order());
        Assert.Contains(passes, p => p.StartsWith("Extract tiny/tiny: one forward pass of 3 texts (three, six, one; 9 positions each)", StringComparison.Ordinal));
        var worst = 0.0;
        foreach (var text in new[] { "one", "two", "three", "four", "five", "six", "seven" })
            foreach (var file in new[] { ExtractStage.ActivationsFile, ExtractStage.AttentionInputsFile })
            {
                var (expectedMeta, expected) = await VectorStoreReader.ReadAsync(Path.Combine(Folder(single, text), file));
                var (actualMeta, actual) = await VectorStoreReader.ReadAsync(Path.Combine(Folder(batched, text), file));
                foreach (var key in new[] { StoreKeys.Tokens, StoreKeys.TokenIds, StoreKeys.Points, StoreKeys.Text })
                    Assert.Equal(expectedMeta[key], actualMeta[key]);
                Assert.Equal(expected.Select(b => (b.Key, b.Positions, b.Dim)), actual.Select(b => (b.Key, b.Positions, b.Dim)));
                var difference = expected.Zip(actual, (e, a) => e.Values.Zip(a.Values, (x, y) => (double)Math.Abs(x - y)).Max()).Max();
                worst = Math.Max(worst, difference);
            }
        output.WriteLine($"bert-tiny, 7 texts, batches of 3: max abs difference {worst:g3} over every stored block");
        Assert.True(worst <= 1e-6, $"max abs difference {worst:g3} > 1e-6");

        // The param is declared above 1 only: batch: 1 written out is today's fingerprint, nothing to rebuild.
        Assert.Equal("3", Components(batched, "one")["param:" + ExtractUnit.BatchParam]!.GetValue<string>());
        Assert.Null(Components(single, "one")["param:" + ExtractUnit.BatchParam]);
        single.WriteExperiment(Yaml + "\nextract:\n  batch: 1\n");
        var (code, status) = single.Cli("status", "--stage=Extract", "--explain");
        Assert.True(code == 0, status);
        batched.WriteExperiment(Yaml + "\nextract:\n  batch: 4\n");
        (_, status) = batched.Cli("status", "--stage=Extract", "--explain");
        Assert.Contains("param:extract.batch changed", status);
    }
}
