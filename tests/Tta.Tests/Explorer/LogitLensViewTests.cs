using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using Tta.Explorer;
using Tta.Figures;
using Tta.Metrics.LogitLens;
using Tta.Pipeline;
using Tta.Tests.Metrics;
using Xunit.Abstractions;

namespace Tta.Tests.Explorer;

/// <summary>
/// The explorer's Logit lens view in Chromium, on gpt2-tiny (an LM head) with a byte-level BPE tokenizer: hovering a
/// cell shows the top token and probability of the Parquet file's rank-0 row of that layer and position (read with
/// DuckDB) and the next token's rank; the view lives in the URL.
/// </summary>
public class LogitLensViewTests(ITestOutputHelper output)
{
    private const string Tip = "Object.assign({ text: document.getElementById('tooltip').textContent }, document.getElementById('tooltip').dataset)";

    private sealed record Cell(int Layer, int Position, long TokenId, string? Token, float Probability, int? NextRank, float? NextProbability);

    [Fact]
    [Trait("Lane", "Full")]
    public async Task HoverShowsTheFilesTopTokenAndTheNextTokensRank()
    {
        var ws = new TinyWorkspace();
        var model = ws.AddModelWeights("gpt2-tiny");
        var json = JsonNode.Parse(File.ReadAllText(Repo.Fixture("tokenizers/bytelevel-bpe/tokenizer.json")))!.AsObject();
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), NearestVocabularyTests.FitTo(json, 320).ToJsonString());
        ws.WriteExperiment("""
            name: tiny
            models:
              - { id: m, source: local, path: m, name: m }
            texts:
              - { name: one, text: "the cat sat on the mat." }
            extract:
              points: ["*hidden_states.*"]
            metrics:
              logit_lens: { k: 3 }
            figures:
              formats: [png]
            """);
        ws.RunAll();
        var file = Path.Combine(ws.CacheDir, "metrics", "tiny", "m", "one", "logit_lens.parquet");
        var cells = RankZero(file);
        var byteLevel = TokenLabels.IsByteLevel(ExplorerSet.TokensOf(LogitLensStore.Read(file).Metadata));
        int[] layers = [.. cells.Select(c => c.Layer).Distinct().Order()];
        var positions = cells.Max(c => c.Position) + 1;
        Assert.True(layers.Length >= 3 && positions >= 4, $"{layers.Length} layers, {positions} positions");

        await using var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return;
        await chrome.Open(Path.Combine(ws.FiguresDir, "tiny", "index.html"));
        await chrome.Json("window.__tta.ready");
        Assert.Contains("lens", (await chrome.Json("window.__tta.state().views")).EnumerateArray().Select(v => v.GetString()));
        await chrome.Page.ClickAsync("#views button[data-view='lens']");
        await chrome.Page.WaitForExpressionAsync("document.getElementById('lens').dataset.drawn === 'm|one|hidden_states'");

        // A middle layer (row 1: the first layer is at the top, as in the static figure) at position 2, then the last
        // layer at the last position, where no token follows.
        foreach (var (row, position) in new[] { (1, 2), (layers.Length - 1, positions - 1) })
        {
            var expected = cells.Single(c => c.Layer == layers[row] && c.Position == position);
            var tip = await Hover(row, position, layers.Length, positions);
            var text = tip.GetProperty("text").GetString()!;
            Assert.Contains($"layer {expected.Layer} · position {position}", text);
            var shown = expected.Token is null ? "#" + expected.TokenId : TokenLabels.Readable(expected.Token, byteLevel);
            Assert.Equal(shown, tip.GetProperty("top").GetString());
            Assert.Contains($"1. “{shown}”", text);
            // The page holds probabilities to 3 significant digits.
            var probability = float.Parse(tip.GetProperty("probability").GetString()!, CultureInfo.InvariantCulture);
            Assert.Equal(expected.Probability.ToString("G3", CultureInfo.InvariantCulture), probability.ToString("G3", CultureInfo.InvariantCulture));
            Near.Equal(expected.Probability, probability, rel: 5e-3, abs: 0);
            if (expected.NextRank is { } rank)
            {
                Assert.Equal(rank.ToString(CultureInfo.InvariantCulture), tip.GetProperty("nextRank").GetString());
                Near.Equal(expected.NextProbability!.Value, double.Parse(tip.GetProperty("nextProbability").GetString()!, CultureInfo.InvariantCulture), rel: 5e-3, abs: 0);
                Assert.Contains($"· rank {rank} ", text);
            }
            else
            {
                Assert.Equal("", tip.GetProperty("nextRank").GetString());
                Assert.Contains("next: none", text);
            }
        }
        Assert.Null(cells.Single(c => c.Layer == layers[^1] && c.Position == positions - 1).NextRank); // decoder-only: the last position has no next token
        Assert.NotNull(cells.Single(c => c.Layer == layers[1] && c.Position == 2).NextRank);

        // The view is in the URL: the link opens it again.
        var hash = (await chrome.Json("location.hash")).GetString()!;
        Assert.Contains("view=lens", hash);
        Assert.Contains("lens=hidden_states", hash);
        await chrome.Page.GoToAsync("about:blank");
        await chrome.Page.GoToAsync(new Uri(Path.Combine(ws.FiguresDir, "tiny", "index.html")).AbsoluteUri + hash);
        await chrome.Json("window.__tta.ready");
        await chrome.Page.WaitForExpressionAsync("document.getElementById('lens').dataset.drawn === 'm|one|hidden_states'");
        Assert.Equal("lens", (await chrome.Json("window.__tta.state().view")).GetString());
        Assert.Empty(chrome.Errors);

        async Task<JsonElement> Hover(int row, int position, int rows, int cols)
        {
            const string Canvas = "canvas.lens";
            await chrome.Page.EvaluateExpressionAsync($"document.querySelector('{Canvas}').scrollIntoView({{ block: 'center' }})");
            var box = await (await chrome.Page.QuerySelectorAsync(Canvas))!.BoundingBoxAsync();
            await chrome.Page.Mouse.MoveAsync(box!.X + (position + 0.5m) / cols * box.Width, box.Y + (row + 0.5m) / rows * box.Height);
            await chrome.Page.WaitForExpressionAsync($"(t => !t.hidden && t.dataset.layer === '{layers[row]}' && t.dataset.position === '{position}')(document.getElementById('tooltip'))");
            return await chrome.Json(Tip);
        }
    }

    /// <summary>The rank-0 rows of logit_lens.parquet, read with DuckDB (an independent Parquet reader).</summary>
    private static List<Cell> RankZero(string file)
    {
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT layer, position, token_id, token, probability, next_rank, next_probability FROM read_parquet('{file}') WHERE rank = 0 ORDER BY layer, position";
        using var r = cmd.ExecuteReader();
        var cells = new List<Cell>();
        while (r.Read())
            cells.Add(new Cell(r.GetInt32(0), r.GetInt32(1), r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetFloat(4),
                r.IsDBNull(5) ? null : r.GetInt32(5), r.IsDBNull(6) ? null : r.GetFloat(6)));
        return cells;
    }

    /// <summary>The page's data holds a logit lens only where there is one: without, a set's JSON is as before.</summary>
    [Fact]
    public void PageDataHasALogitLensOnlyWhereThereIsOne()
    {
        var set = new PageSet("m", "t", ["a", "b"], [], [], [], null, []);
        var data = new PageData("t", "e", ExplorerBuilder.ColormapLut("viridis"), "#ffffff", "#ff00ff", "<s>", [], ["t"], [set], [], [], "name: e\n", []);
        var json = DataOf(ExplorerPage.Html(data, []));
        Assert.Contains("\"nearest\":null,\"figures\":[]}]", json);
        Assert.DoesNotContain("logitLens", json);
        var lens = new LogitLensEntry("hidden_states", "decoder-only", 2, 0, [0, 1], 2, [5, 6, 7, 8, 5, 6, 7, 8, 1, 2, 3, 4, 1, 2, 3, 4],
            [0.5f, 0.25f, 0.5f, 0.25f, 0.5f, 0.25f, 0.5f, 0.25f], [6, null], [1, null, 0, null], [0.25f, null, 0.5f, null]);
        json = DataOf(ExplorerPage.Html(data with { Sets = [set with { LogitLens = [lens] }] }, []));
        Assert.Contains("\"nearest\":null,\"figures\":[],\"logitLens\":[{\"series\":\"hidden_states\",\"stack\":\"decoder-only\",\"k\":2,\"tokenTable\":0,", json);
        Assert.Contains("\"next\":[6,null],\"nextRanks\":[1,null,0,null],\"nextProbabilities\":[0.25,null,0.5,null]}]}]", json);
        Assert.Equal(0.123f, LogitLensView.Rounded(0.1234567f));
        Assert.Equal(1.23e-5f, LogitLensView.Rounded(1.2345e-5f));
    }

    private static string DataOf(string html)
    {
        const string Open = "<script type=\"application/json\" id=\"tta-data\">";
        var start = html.IndexOf(Open, StringComparison.Ordinal) + Open.Length;
        return html[start..html.IndexOf("</script>", start, StringComparison.Ordinal)];
    }
}
