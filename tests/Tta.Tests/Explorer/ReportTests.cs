using System.Text.Json;
using System.Text.RegularExpressions;
using Tta.Explorer;
using Tta.Figures;
using Tta.Metrics;
using Xunit.Abstractions;
using Tta.Metrics.Nearest;
using Tta.Store;

namespace Tta.Tests.Explorer;

/// <summary>
/// The explorer page (figures/&lt;experiment&gt;/index.html) of a real flan-t5-tiny run, in Debian's Chromium driven by
/// PuppeteerSharp with the network off: it loads from file:// without errors; the slider, the hover, the attention
/// grid, the trajectory view and the gallery show what the Parquet files hold.
/// </summary>
[Trait("Lane", "Full")]
public partial class ReportTests(ExplorerRun run, ITestOutputHelper output) : IClassFixture<ExplorerRun>
{
    private const string FirstPane = ".pane[data-pane='0']";

    /// <summary>Token labels as the page shows them: the static figures' display rule, never cut.</summary>
    private string[] Labels(string text) => TokenLabels.Labels(Tokens(text), maxChars: 0);

    private string[] Tokens(string text) =>
        JsonSerializer.Deserialize<string[]>(run.Read(text, "similarity").Metadata["tta.tokens"])!;

    private async Task<HeadlessChromium?> Open()
    {
        var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return null;
        try
        {
            await chrome.Open(run.Page);
            await chrome.Json("window.__tta.ready");
            return chrome;
        }
        catch
        {
            await chrome.DisposeAsync(); // no browser left running when the page fails to open
            throw;
        }
    }

    /// <summary>Moves the mouse to the centre of cell (i, j) of a map canvas and returns the tooltip's data.</summary>
    private static async Task<Dictionary<string, string>> Hover(HeadlessChromium chrome, string canvas, int rows, int cols, int i, int j)
    {
        var box = await (await chrome.Page.QuerySelectorAsync(canvas))!.BoundingBoxAsync();
        await chrome.Page.Mouse.MoveAsync(box!.X + (j + 0.5m) * box.Width / cols, box.Y + (i + 0.5m) * box.Height / rows);
        await chrome.Page.WaitForExpressionAsync($"!document.getElementById('tooltip').hidden && document.getElementById('tooltip').dataset.row === '{i}' && document.getElementById('tooltip').dataset.col === '{j}'");
        var tip = await chrome.Json("Object.assign({ text: document.getElementById('tooltip').textContent }, document.getElementById('tooltip').dataset)");
        return tip.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    /// <summary>Half a quantisation step of a map: the most a shown value may differ from the stored one.</summary>
    private static double Tolerance(IEnumerable<float> values)
    {
        var finite = values.Where(float.IsFinite).Select(v => (double)v).ToList();
        return (finite.Max() - finite.Min()) / (QuantizedMap.Levels - 1) / 2 + 1e-6;
    }

    [Fact]
    public async Task PageLoadsFromFileOfflineWithNoConsoleErrorsInAnyView()
    {
        var html = File.ReadAllText(run.Page);
        Assert.Contains("Content-Security-Policy\" content=\"default-src 'none'", html);
        Assert.DoesNotMatch(@"(?i)<(script|img|link)[^>]+(src|href)=""(https?:)?//", html);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);

        await using var chrome = await Open();
        if (chrome is null) return;
        var firstMap = (await chrome.Json("window.__tta.firstMapMs")).GetDouble();
        output.WriteLine($"first map after {firstMap:0} ms");
        // A screenshot of every view goes to test-output/explorer/ for a look.
        var shots = Path.Combine(AppContext.BaseDirectory, "test-output", "explorer");
        Directory.CreateDirectory(shots);
        foreach (var view in new[] { "attention", "trajectory", "figures", "run", "similarity" })
        {
            await chrome.Page.ClickAsync($"#views button[data-view='{view}']");
            await chrome.Page.WaitForExpressionAsync($"!document.getElementById('view-{view}').hidden");
            await Task.Delay(300);
            await chrome.Page.ScreenshotAsync(Path.Combine(shots, view + ".png"));
        }
        // Run details: the experiment file verbatim, and each model with the revision it resolved to (for a local
        // checkpoint, the weights' sha256 that Download recorded, as the Parquet metadata carries it).
        await chrome.Page.ClickAsync("#views button[data-view='run']");
        Assert.Equal(File.ReadAllText(run.Workspace.ExperimentPath), (await chrome.Json("document.getElementById('run-yaml').textContent")).GetString());
        var resolved = run.Read("one", "similarity").Metadata["tta.revision_sha"];
        Assert.Contains(resolved, (await chrome.Json("document.querySelector('#run-models tbody').textContent")).GetString());
        Assert.Contains("tiny/t5/one/attention", (await chrome.Json("document.querySelector('#run-units tbody').textContent")).GetString());
        await chrome.Page.ClickAsync("#views button[data-view='similarity']");
        await chrome.Page.ClickAsync("#two-panes");
        await chrome.Page.WaitForExpressionAsync("document.querySelectorAll('.pane canvas.map').length === 2 && window.__tta.drawn >= 3");
        var screenshot = Path.Combine(shots, "two-panes.png");
        await chrome.Page.ScreenshotAsync(screenshot);
        output.WriteLine($"screenshot {screenshot}; requests: {chrome.Requests.Count}");
        foreach (var e in chrome.Errors) output.WriteLine(e);
        Assert.Empty(chrome.Errors);
        Assert.All(chrome.Requests, url => Assert.StartsWith("file://", url));

        // The check can fail: a page whose script breaks reports it as an error.
        var broken = Path.Combine(Path.GetDirectoryName(run.Page)!, "broken.html");
        File.WriteAllText(broken, html.Replace("const data = JSON.parse", "missingFunction(); const data = JSON.parse"));
        await chrome.Open(broken);
        await Task.Delay(500);
        Assert.NotEmpty(chrome.Errors);
        File.Delete(broken);
    }

    [Fact]
    public async Task MovingTheSliderShowsTheNextLayersValues()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        var pane = (await chrome.Json("window.__tta.state()")).GetProperty("panes")[0];
        Assert.Equal(("t5", "one", "cosine", 0, "encoder_hidden_states.0"),
            (pane.GetProperty("model").GetString(), pane.GetProperty("text").GetString(), pane.GetProperty("measure").GetString(),
             pane.GetProperty("index").GetInt32(), pane.GetProperty("point").GetString()));

        await chrome.Page.FocusAsync($"{FirstPane} input.layer");
        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        await chrome.Page.WaitForExpressionAsync($"document.querySelector(\"{FirstPane} canvas.map\").dataset.index === '1'");
        var shown = await chrome.Json("window.__tta.paneValues(0)");
        var values = shown.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var blocks = run.Read("one", "similarity").Blocks;
        VectorBlock Block(string point) => blocks.Single(b => b.Key.Point == point && b.Key.Measure == "cosine");
        var (before, next) = (Block("encoder_hidden_states.0"), Block("encoder_hidden_states.1"));
        Assert.Equal(next.Values.Length, values.Length);
        var tolerance = Tolerance(next.Values);
        for (var k = 0; k < values.Length; k++)
            Assert.True(Math.Abs(values[k] - next.Values[k]) <= tolerance, $"cell {k}: shown {values[k]}, stored {next.Values[k]}");
        // … and they are not the previous layer's.
        Assert.Contains(Enumerable.Range(0, values.Length), k => Math.Abs(values[k] - before.Values[k]) > 10 * tolerance);

        // The keyboard works outside the slider too: End goes to the last map (the decoder's final output).
        await chrome.Page.ClickAsync("#title");
        await chrome.Page.Keyboard.PressAsync("End");
        var last = blocks.Count(b => b.Key.Measure == "cosine") - 1;
        await chrome.Page.WaitForExpressionAsync($"document.querySelector(\"{FirstPane} canvas.map\").dataset.index === '{last}'");
        Assert.Equal("decoder_hidden_states.2", (await chrome.Json("window.__tta.state()")).GetProperty("panes")[0].GetProperty("point").GetString());
    }

    [Fact]
    public async Task ColourScaleSpansEveryLayerOrOnlyTheMapShown()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        // Dot products grow with depth, so the ranges of one layer and of all layers differ.
        await chrome.Page.SelectAsync($"{FirstPane} select[aria-label='measure']", "dot");
        await chrome.Page.WaitForExpressionAsync($"document.querySelector(\"{FirstPane} canvas.map\").dataset.measure === 'dot'");
        var dot = run.Read("one", "similarity").Blocks.Where(b => b.Key.Measure == "dot").ToList();
        async Task<(double Lo, double Hi)> Bar()
        {
            var bar = await chrome.Json($"(() => {{ const d = document.querySelector(\"{FirstPane} .colorbar\").dataset; return [Number(d.lo), Number(d.hi)]; }})()");
            return (bar[0].GetDouble(), bar[1].GetDouble());
        }
        // Shared (the default): the range of every dot-product map of the text, encoder and decoder.
        var (lo, hi) = await Bar();
        var tolerance = Tolerance(dot.SelectMany(b => b.Values));
        Assert.Equal(dot.Min(b => b.Values.Min()), lo, tolerance);
        Assert.Equal(dot.Max(b => b.Values.Max()), hi, tolerance);
        // Per layer: the range of the map shown.
        await chrome.Page.ClickAsync("#shared-scale");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().shared === false");
        var first = dot.Single(b => b.Key.Point == "encoder_hidden_states.0");
        await chrome.Page.WaitForExpressionAsync($"Math.abs(Number(document.querySelector(\"{FirstPane} .colorbar\").dataset.lo) - ({first.Values.Min().ToString("R", System.Globalization.CultureInfo.InvariantCulture)})) < 1e-6");
        (lo, hi) = await Bar();
        Assert.Equal(first.Values.Max(), hi, Tolerance(first.Values));
        Assert.NotEqual(dot.Max(b => b.Values.Max()), hi, 10 * tolerance); // the check can fail: the ranges differ here
    }

    [Fact]
    public async Task HoveringACellShowsItsTokensAndValueFromTheParquet()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        var tokens = Tokens("one");
        var n = tokens.Length;
        var block = run.Read("one", "similarity").Blocks.Single(b => b.Key.Point == "encoder_hidden_states.0" && b.Key.Measure == "cosine");
        var tip = await Hover(chrome, $"{FirstPane} canvas.map", n, n, 2, 5);
        var labels = Labels("one");
        Assert.Equal(labels[2], tip["query"]);
        Assert.Equal(labels[5], tip["key"]);
        Assert.Contains($"query: {labels[2]} (#2)", tip["text"]);
        Assert.DoesNotContain("▁", tip["text"]);
        Assert.Equal(block.Values[2 * n + 5], double.Parse(tip["value"], System.Globalization.CultureInfo.InvariantCulture), Tolerance(block.Values));

        // Decoder maps label their rows with the shifted-right input: row 0 is the start token.
        await chrome.Page.ClickAsync("#title");
        await chrome.Page.Keyboard.PressAsync("End");
        await chrome.Page.WaitForExpressionAsync($"window.__tta.state().panes[0].stack === 'decoder' && document.querySelector(\"{FirstPane} canvas.map\").dataset.stack === 'decoder'");
        var decoder = run.Read("one", "similarity").Blocks.Single(b => b.Key.Point == "decoder_hidden_states.2" && b.Key.Measure == "cosine");
        tip = await Hover(chrome, $"{FirstPane} canvas.map", n, n, 0, 3);
        Assert.Equal(FigureContext.DecoderStart, tip["query"]);
        Assert.Equal(labels[2], tip["key"]);
        Assert.Equal(decoder.Values[3], double.Parse(tip["value"], System.Globalization.CultureInfo.InvariantCulture), Tolerance(decoder.Values));
    }

    [Fact]
    public async Task AttentionGridShowsHeadsTimesPanelsWithMaskedCellsOutsideTheColourRange()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        await chrome.Page.ClickAsync("#views button[data-view='attention']");
        const string module = "decoder.block.0.layer.0.SelfAttention";
        await chrome.Page.SelectAsync("#att-module", $"decoder|0|{module}");
        var blocks = run.Read("one", "attention").Blocks.Where(b => b.Key.Point == module).ToList();
        var heads = blocks.Select(b => b.Key.Head).Distinct().Count();
        await chrome.Page.WaitForExpressionAsync($"document.querySelectorAll('#att-grid canvas.map').length === {heads * 4}");
        Assert.Equal(heads, (await chrome.Json("document.querySelectorAll('#att-grid canvas.kernel').length")).GetInt32());

        var scores = blocks.Single(b => b.Key.Head == 1 && b.Key.Measure == "scores");
        var n = scores.Positions;
        var canvas = "#att-grid canvas[data-head='1'][data-panel='scores']";
        // Above the diagonal the decoder's causal mask: shown as masked, not as a value.
        Assert.True(scores.Values[n - 1] < -1e30, "the stored score of a masked cell is the mask value");
        Assert.Equal("masked", (await Hover(chrome, canvas, n, n, 0, n - 1))["value"]);
        var unmasked = scores.Values.Where(v => v > -1e30).ToArray();
        var tip = await Hover(chrome, canvas, n, n, n - 1, 1);
        Assert.Equal(scores.Values[(n - 1) * n + 1], double.Parse(tip["value"], System.Globalization.CultureInfo.InvariantCulture), Tolerance(unmasked));
        // The colour range is that of the unmasked values (the page's map record), and the masked cells are counted.
        var index = (await chrome.Json($"(() => {{ const s = window.__tta.data.sets.find(s => s.model === 't5' && s.text === 'one'); return s.attention.find(a => a.module === '{module}' && a.head === 1).panels.scores; }})()")).GetInt32();
        var map = await chrome.Json($"window.__tta.data.maps[{index}]");
        Assert.Equal(unmasked.Min(), map.GetProperty("min").GetDouble(), 1e-5);
        Assert.Equal(unmasked.Max(), map.GetProperty("min").GetDouble() + (QuantizedMap.Levels - 1) * map.GetProperty("scale").GetDouble(), 1e-4);
        Assert.Equal(n * (n - 1) / 2, map.GetProperty("masked").GetInt32());
        Assert.Empty(chrome.Errors);
    }

    [Fact]
    public async Task TrajectoryViewHasOnePolylinePerTokenWithOnePointPerLayer()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        await chrome.Page.ClickAsync("#views button[data-view='trajectory']");
        await chrome.Page.WaitForSelectorAsync("#traj svg polyline");
        var blocks = run.Read("one", "projection").Blocks.Where(b => b.Key.Point.StartsWith("encoder_hidden_states.", StringComparison.Ordinal))
            .OrderBy(b => b.Key.Layer).ToList();
        var lines = await chrome.Json("Array.from(document.querySelectorAll('#traj polyline')).map(p => p.getAttribute('points').trim().split(/\\s+/).map(xy => xy.split(',').map(Number)))");
        var tokens = blocks[0].Positions;
        Assert.Equal(tokens, lines.GetArrayLength());
        Assert.All(lines.EnumerateArray(), line => Assert.Equal(blocks.Count, line.GetArrayLength()));
        // Screen x follows PC1 and screen y runs against PC2 (SVG y grows downwards), point for point.
        for (var l = 0; l < blocks.Count; l++)
            for (var a = 0; a < tokens; a++)
                for (var b = a + 1; b < tokens; b++)
                {
                    var (xa, xb) = (lines[a][l][0].GetDouble(), lines[b][l][0].GetDouble());
                    var (pa, pb) = (blocks[l].Values[a * 2], blocks[l].Values[b * 2]);
                    if (Math.Abs(pa - pb) > 1e-2 * Math.Abs(pa) + 1e-3) Assert.Equal(Math.Sign(pa - pb), Math.Sign(xa - xb));
                }

        // Hovering a layer marker names token and layer and lists the nearest vocabulary tokens there.
        var (t, l2) = (3, 2);
        var box = await (await chrome.Page.QuerySelectorAsync("#traj svg"))!.BoundingBoxAsync();
        await chrome.Page.Mouse.MoveAsync(box!.X + (decimal)lines[t][l2][0].GetDouble(), box.Y + (decimal)lines[t][l2][1].GetDouble());
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('tooltip').hidden");
        var tip = await chrome.Json("Object.assign({ text: document.getElementById('tooltip').textContent }, document.getElementById('tooltip').dataset)");
        Assert.Equal(l2, int.Parse(tip.GetProperty("layer").GetString()!));
        var hovered = int.Parse(tip.GetProperty("token").GetString()!);
        Assert.Contains($"token: {Labels("one")[hovered]} (#{hovered})", tip.GetProperty("text").GetString());
        var nearest = NearestRows.Read(run.Metrics("one", "nearest")).Rows
            .Where(r => r.Point == "encoder_hidden_states.2" && r.Measure == "ip" && r.Position == hovered).OrderBy(r => r.Rank)
            .Select(r => r.Token is null ? "#" + r.TokenId : TokenLabels.Readable(r.Token, TokenLabels.IsByteLevel(Tokens("one"))));
        Assert.Contains("nearest (inner product): " + string.Join(" · ", nearest), tip.GetProperty("text").GetString());
    }

    [Fact]
    public async Task ClickingARowHighlightsThatTokenInEveryView()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        var n = Tokens("one").Length;
        // After the window shrinks the map is redrawn smaller, and a click still counts once.
        var before = (await chrome.Json($"document.querySelector(\"{FirstPane} canvas.map\").width")).GetInt32();
        await chrome.Page.SetViewportAsync(new PuppeteerSharp.ViewPortOptions { Width = 900, Height = 700 });
        await chrome.Page.WaitForExpressionAsync($"document.querySelector(\"{FirstPane} canvas.map\").width < {before}");
        var box = await (await chrome.Page.QuerySelectorAsync($"{FirstPane} canvas.map"))!.BoundingBoxAsync();
        await chrome.Page.Mouse.ClickAsync(box!.X + 1.5m * box.Width / n, box.Y + 4.5m * box.Height / n);
        Assert.Equal(4, (await chrome.Json("window.__tta.state().highlight")).GetInt32());
        await chrome.Page.ClickAsync("#views button[data-view='trajectory']");
        await chrome.Page.WaitForSelectorAsync("#traj polyline.highlight");
        Assert.Equal(["4"], (await chrome.Json("Array.from(document.querySelectorAll('#traj polyline.highlight')).map(p => p.dataset.token)"))
            .EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task ThumbnailsLoadLazilyAndOpenFullSizeWithEveryFormat()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        var thumbsBefore = chrome.Requests.Count(u => u.Contains("/~thumbs/", StringComparison.Ordinal));
        Assert.Equal(0, thumbsBefore); // the gallery is not open: nothing loaded
        await chrome.Page.ClickAsync("#views button[data-view='figures']");
        await Task.Delay(1000);
        const string count = "(() => { const i = Array.from(document.querySelectorAll('#gallery img')); return [i.length, i.filter(x => x.complete && x.naturalWidth > 0 && x.getAttribute('src')).length]; })()";
        var counts = await chrome.Json(count);
        var (total, loaded) = (counts[0].GetInt32(), counts[1].GetInt32());
        output.WriteLine($"{loaded} of {total} thumbnails loaded before scrolling");
        var stems = Directory.GetFiles(Path.Combine(run.Workspace.FiguresDir, "tiny", "t5", "one"), "*.png").Length;
        Assert.Equal(stems, total);
        Assert.InRange(loaded, 1, total - 1);
        Assert.Equal(loaded, chrome.Requests.Count(u => u.Contains("/~thumbs/", StringComparison.Ordinal)));
        // Scrolled through, every one loads.
        for (var y = 0; y < 40; y++)
        {
            await chrome.Page.EvaluateExpressionAsync("window.scrollBy(0, 400)");
            await Task.Delay(50);
        }
        await chrome.Page.WaitForExpressionAsync($"{count}[1] === {total}");

        // A thumbnail opens the figure full size, with links to its PNG, PDF and SVG (files that exist).
        await chrome.Page.EvaluateExpressionAsync("document.querySelector('#gallery img').click()");
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('lightbox').hidden && document.querySelector('#lightbox-image img').complete");
        var links = (await chrome.Json("Array.from(document.querySelectorAll('#lightbox-links a')).map(a => a.href)")).EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal([".png", ".pdf", ".svg"], links.Select(Path.GetExtension));
        Assert.All(links, l => Assert.True(File.Exists(new Uri(l).LocalPath), l));
        Assert.True((await chrome.Json("document.querySelector('#lightbox-image img').naturalWidth")).GetInt32() > ExplorerThumbSide);
        Assert.Empty(chrome.Errors);
    }

    [Fact]
    public async Task TheFullSizeFigureStepsThroughItsGalleryGroupWithTheArrowKeys()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        await chrome.Page.ClickAsync("#views button[data-view='figures']");
        await chrome.Page.WaitForSelectorAsync("#gallery section figure img");
        var captions = (await chrome.Json("Array.from(document.querySelector('#gallery section').querySelectorAll('figcaption > span:first-child')).map(s => s.textContent)"))
            .EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.True(captions.Count >= 3, $"{captions.Count} figures in the first group");
        const string shown = "[document.getElementById('lightbox-caption').textContent, document.getElementById('lightbox-position').textContent, document.querySelector('#lightbox-image img').getAttribute('src'), document.getElementById('lightbox-prev').disabled, document.getElementById('lightbox-next').disabled]";

        await chrome.Page.EvaluateExpressionAsync("document.querySelector('#gallery section figure img').click()");
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('lightbox').hidden");
        var first = await chrome.Json(shown);
        Assert.Equal(captions[0], first[0].GetString());
        Assert.Equal($"1 / {captions.Count}", first[1].GetString());
        Assert.True(first[3].GetBoolean()); // nothing before the first

        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        var second = await chrome.Json(shown);
        Assert.Equal(captions[1], second[0].GetString());
        Assert.Equal($"2 / {captions.Count}", second[1].GetString());
        Assert.NotEqual(first[2].GetString(), second[2].GetString()); // another image
        Assert.False(second[3].GetBoolean());

        await chrome.Page.ClickAsync("#lightbox-next");
        Assert.Equal(captions[2], (await chrome.Json(shown))[0].GetString());
        await chrome.Page.Keyboard.PressAsync("ArrowLeft");
        await chrome.Page.Keyboard.PressAsync("ArrowLeft");
        await chrome.Page.Keyboard.PressAsync("ArrowLeft"); // stops at the first
        Assert.Equal(first[0].GetString(), (await chrome.Json(shown))[0].GetString());
        for (var i = 0; i < captions.Count + 2; i++) await chrome.Page.Keyboard.PressAsync("ArrowRight"); // stops at the last
        var last = await chrome.Json(shown);
        Assert.Equal(captions[^1], last[0].GetString());
        Assert.True(last[4].GetBoolean());
        Assert.Empty(chrome.Errors);
    }

    private const int ExplorerThumbSide = Thumbnails.MaxSide;
}
