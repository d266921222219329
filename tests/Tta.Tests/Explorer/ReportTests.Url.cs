using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PuppeteerSharp;
using Tta.Figures;
using Tta.Store;

namespace Tta.Tests.Explorer;

/// <summary>
/// The explorer's layer names (the figures' titles), its tabs (only the views it has data for) and its state in the URL
/// (linked, restored, back and forward), in Chromium on the flan-t5-tiny run with every view.
/// </summary>
public partial class ReportTests
{
    private const string PaneMap = ".pane[data-pane='0'] canvas.map";
    private const string Tabs = "Array.from(document.querySelectorAll('#views button')).map(b => [b.dataset.view, b.disabled, b.title])";

    /// <summary>A figure's title as poppler's pdfinfo reads it from its PDF (the figure draws the same string above its plot).</summary>
    private static string PdfTitle(string pdftotext, string pdf)
    {
        var psi = new ProcessStartInfo(Path.Combine(Path.GetDirectoryName(pdftotext)!, "pdfinfo")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-enc", "UTF-8", pdf }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"pdfinfo {pdf} failed: {err.Result}");
        return text.Split('\n').Single(l => l.StartsWith("Title:", StringComparison.Ordinal))["Title:".Length..].Trim();
    }

    /// <summary>A figure title without "model · text · " before it and the measure or panel after it: what it says of the map.</summary>
    private static string Middle(string title, string model, string text)
    {
        Assert.StartsWith($"{model} · {text} · ", title);
        var rest = title[$"{model} · {text} · ".Length..];
        return rest[..rest.LastIndexOf(" · ", StringComparison.Ordinal)];
    }

    /// <summary>Opens a URL in the page afresh (a document load, not a hash change) and waits for its first map.</summary>
    private static async Task Reload(HeadlessChromium chrome, string url)
    {
        await chrome.Page.GoToAsync("about:blank");
        chrome.Errors.Clear();
        await chrome.Page.GoToAsync(url, new NavigationOptions { WaitUntil = [WaitUntilNavigation.Load], Timeout = 120_000 });
        await chrome.Json("window.__tta.ready");
    }

    private static async Task<string> Hash(HeadlessChromium chrome) => (await chrome.Json("location.hash")).GetString()!;

    /// <summary>Waits until the URL says <paramref name="part"/> (state changes within a view reach the URL within 100 ms).</summary>
    /// <summary>Every pane shows the map its state names (its last draw has finished).</summary>
    private const string PanesDrawn = "window.__tta.state().panes.every((p, k) => { const d = document.querySelector(`.pane[data-pane='${k}'] canvas.map`).dataset; return d.map === String(p.map) && d.model === p.model && d.text === p.text; })";

    private static Task UrlSays(HeadlessChromium chrome, string part) =>
        chrome.Page.WaitForExpressionAsync($"location.hash.includes({JsonSerializer.Serialize(part)})");

    [Fact]
    public async Task EveryLayerLabelThePageShowsIsTheTitleOfItsFigure()
    {
        var pdftotext = PdfText.Require(output);
        if (pdftotext is null) return;
        await using var chrome = await Open();
        if (chrome is null) return;
        var dir = Path.Combine(run.Workspace.FiguresDir, "tiny", "t5", "one");
        string Title(string stem) => PdfTitle(pdftotext, Path.Combine(dir, stem + ".pdf"));

        // The slider's label at every map of both measures: the words of that map's figure title.
        var entries = await chrome.Json("window.__tta.data.sets.find(s => s.model === 't5' && s.text === 'one').similarity");
        foreach (var measure in new[] { "cosine", "dot" })
        {
            await chrome.Page.SelectAsync($"{FirstPane} select[aria-label='measure']", measure);
            var ofMeasure = entries.EnumerateArray().Where(e => e.GetProperty("measure").GetString() == measure).ToList();
            Assert.True(ofMeasure.Count >= 6, $"{ofMeasure.Count} {measure} maps");
            await chrome.Page.ClickAsync("#title");
            await chrome.Page.Keyboard.PressAsync("Home");
            for (var i = 0; i < ofMeasure.Count; i++)
            {
                await chrome.Page.WaitForExpressionAsync($"document.querySelector(\"{PaneMap}\").dataset.index === '{i}' && document.querySelector(\"{PaneMap}\").dataset.measure === '{measure}'");
                var e = ofMeasure[i];
                var key = new ActivationPoint(e.GetProperty("point").GetString()!, e.GetProperty("stack").GetString()!, e.GetProperty("layer").GetInt32(), Measure: measure);
                var label = (await chrome.Json($"document.querySelector(\"{FirstPane} .layer-label\").textContent")).GetString()!;
                var shown = Regex.Replace(label, @"\s+\([0-9]+/[0-9]+\)$", ""); // without the map's place "(i/n)"
                Assert.Equal(Middle(Title(FiguresStage.FileStem(key)), "t5", "one"), shown);
                if (key.Point.EndsWith("hidden_states.1", StringComparison.Ordinal))
                    Assert.Equal($"{key.Stack} · layer 1 · {key.Point}", shown); // the file says L01, the page says layer 1
                await chrome.Page.Keyboard.PressAsync("ArrowRight");
            }
        }

        // The gallery's captions and the full-size figure's caption of each similarity figure, and the attention
        // module's name (the module selector and the gallery group): the words of the figure titles.
        var figures = (await chrome.Json("window.__tta.data.sets.find(s => s.model === 't5' && s.text === 'one').figures")).EnumerateArray().ToList();
        var similarity = figures.Where(f => f.GetProperty("kind").GetString() == "similarity").ToList();
        Assert.NotEmpty(similarity);
        foreach (var f in similarity)
            Assert.Equal(Middle(Title(f.GetProperty("stem").GetString()!), "t5", "one"), f.GetProperty("caption").GetString());
        await chrome.Page.ClickAsync("#views button[data-view='figures']");
        await chrome.Page.WaitForSelectorAsync("#gallery section figure img");
        var stem = similarity[1].GetProperty("stem").GetString()!;
        await chrome.Page.EvaluateExpressionAsync($"Array.from(document.querySelectorAll('#gallery img')).find(i => i.alt === {JsonSerializer.Serialize(similarity[1].GetProperty("caption").GetString())}).click()");
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('lightbox').hidden");
        Assert.Equal(Middle(Title(stem), "t5", "one"), (await chrome.Json("document.getElementById('lightbox-caption').textContent")).GetString());
        await chrome.Page.Keyboard.PressAsync("Escape");

        await chrome.Page.ClickAsync("#views button[data-view='attention']");
        var modules = (await chrome.Json("Array.from(document.querySelectorAll('#att-module option')).map(o => o.textContent)")).EnumerateArray().Select(o => o.GetString()!).ToList();
        Assert.NotEmpty(modules);
        foreach (var module in modules)
        {
            var ofModule = figures.Where(f => f.GetProperty("kind").GetString() == "attention" && f.GetProperty("group").GetString() == "attention · " + module).ToList();
            Assert.NotEmpty(ofModule);
            foreach (var f in ofModule)
                Assert.StartsWith($"t5 · one · {module} · head ", Title(f.GetProperty("stem").GetString()!));
        }
        Assert.Empty(chrome.Errors);
    }

    [Fact]
    public async Task TheTrajectoryHoverNamesTheLayerAsTheFigureTitlesDo()
    {
        var pdftotext = PdfText.Require(output);
        if (pdftotext is null) return;
        await using var chrome = await Open();
        if (chrome is null) return;
        await chrome.Page.ClickAsync("#views button[data-view='trajectory']");
        await chrome.Page.WaitForSelectorAsync("#traj svg polyline");
        var line = (await chrome.Json("Array.from(document.querySelectorAll('#traj polyline'))[3].getAttribute('points').trim().split(/\\s+/)[2].split(',').map(Number)")).EnumerateArray().Select(v => (decimal)v.GetDouble()).ToList();
        var box = await (await chrome.Page.QuerySelectorAsync("#traj svg"))!.BoundingBoxAsync();
        await chrome.Page.Mouse.MoveAsync(box!.X + line[0], box.Y + line[1]);
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('tooltip').hidden");
        var layer = int.Parse((await chrome.Json("document.getElementById('tooltip').dataset.layer")).GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var lines = (await chrome.Json("document.getElementById('tooltip').textContent")).GetString()!.Split('\n');
        var point = $"encoder_hidden_states.{layer}";
        var title = PdfTitle(pdftotext, Path.Combine(run.Workspace.FiguresDir, "tiny", "t5", "one",
            FiguresStage.FileStem(new ActivationPoint(point, "encoder", layer, Measure: "cosine")) + ".pdf"));
        Assert.Equal($"layer {layer} · {point}", lines[1]);
        Assert.Contains($" · {lines[1]} · ", title);
    }

    [Fact]
    public async Task TabsAreTheViewsThereIsDataForAndDisabledWithAReasonWhereThisModelAndTextHaveNone()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        var tabs = await chrome.Json(Tabs);
        Assert.Equal(["similarity", "attention", "trajectory", "figures", "run"], tabs.EnumerateArray().Select(t => t[0].GetString()));
        Assert.All(tabs.EnumerateArray(), t => Assert.False(t[1].GetBoolean()));

        // A page whose second text has no attention maps and no text a projection: no Trajectories tab, and the
        // Attention tab disabled, saying why, while that text is shown.
        var html = File.ReadAllText(run.Page);
        var script = Regex.Match(html, """<script type="application/json" id="tta-data">(.*?)</script>""", RegexOptions.Singleline);
        var data = JsonNode.Parse(script.Groups[1].Value)!;
        foreach (var s in data["sets"]!.AsArray())
        {
            s!["projection"] = new JsonArray();
            if ((string?)s["text"] == "two") s["attention"] = new JsonArray();
        }
        var partial = Path.Combine(Path.GetDirectoryName(run.Page)!, "partial.html");
        File.WriteAllText(partial, html[..script.Groups[1].Index] + data.ToJsonString() + html[(script.Groups[1].Index + script.Groups[1].Length)..]);
        try
        {
            await chrome.Open(partial);
            await chrome.Json("window.__tta.ready");
            tabs = await chrome.Json(Tabs);
            Assert.Equal(["similarity", "attention", "figures", "run"], tabs.EnumerateArray().Select(t => t[0].GetString()));
            Assert.All(tabs.EnumerateArray(), t => Assert.False(t[1].GetBoolean()));
            await chrome.Page.ClickAsync("#views button[data-view='attention']");
            await chrome.Page.SelectAsync("#text", "two");
            await chrome.Page.WaitForExpressionAsync("document.querySelector(\"#views button[data-view='attention']\").disabled");
            var attention = (await chrome.Json(Tabs)).EnumerateArray().Single(t => t[0].GetString() == "attention");
            Assert.Equal("no attention decomposition (metrics.attention) for t5 · two", attention[2].GetString());
            // The view stays where it was and says that this text has nothing to show.
            Assert.Contains("no attention decomposition", (await chrome.Json("document.getElementById('att-grid').textContent")).GetString());
            // A link to the trajectory view, which this page lacks, shows the first view instead.
            await Reload(chrome, new Uri(partial).AbsoluteUri + "#view=trajectory&text=one");
            Assert.Equal("similarity", (await chrome.Json("window.__tta.state().view")).GetString());
            Assert.Empty(chrome.Errors);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    [Fact]
    public async Task TheUrlHoldsTheSimilarityViewAndOpeningItShowsTheSameMaps()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        Assert.Equal("#view=similarity&model=t5&text=one&measure=cosine&layer=encoder_hidden_states.0", await Hash(chrome));

        await chrome.Page.SelectAsync("#text", "two");
        await chrome.Page.SelectAsync($"{FirstPane} select[aria-label='measure']", "dot");
        await chrome.Page.FocusAsync($"{FirstPane} input.layer");
        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        await chrome.Page.ClickAsync("#shared-scale");
        await chrome.Page.ClickAsync("#two-panes");
        await chrome.Page.WaitForExpressionAsync("document.querySelectorAll('.pane canvas.map').length === 2");
        await chrome.Page.SelectAsync(".pane[data-pane='1'] select[aria-label='text']", "one");
        var n = (await chrome.Json("window.__tta.data.sets.find(s => s.text === 'two').tokens.length")).GetInt32();
        var box = await (await chrome.Page.QuerySelectorAsync(PaneMap))!.BoundingBoxAsync();
        await chrome.Page.Mouse.ClickAsync(box!.X + 0.5m * box.Width / n, box.Y + 1.5m * box.Height / n);
        await UrlSays(chrome, "token=1");
        var url = (await chrome.Json("location.href")).GetString()!;
        Assert.Contains("text=two", url);
        Assert.Contains("measure=dot", url);
        Assert.Contains("layer=encoder_hidden_states.2", url);
        Assert.Contains("scale=per-map", url);
        Assert.Contains("compare=1", url);
        Assert.Contains("text2=one", url);

        const string View = "[window.__tta.state(), Array.from(document.querySelectorAll('.pane')).map(p => [p.querySelector('.layer-name').textContent, p.querySelector('canvas.map').toDataURL(), p.querySelector('.colorbar').dataset.lo, p.querySelector('.colorbar').dataset.hi])]";
        await chrome.Page.WaitForExpressionAsync(PanesDrawn);
        var before = await chrome.Json(View);
        Assert.Equal(1, before[0].GetProperty("highlight").GetInt32());
        Assert.False(before[0].GetProperty("shared").GetBoolean());

        await Reload(chrome, url);
        await chrome.Page.WaitForExpressionAsync("document.querySelectorAll('.pane canvas.map').length === 2 && " + PanesDrawn);
        var after = await chrome.Json(View);
        Assert.Equal(before.GetRawText(), after.GetRawText());
        Assert.Equal(url, (await chrome.Json("location.href")).GetString());
        Assert.Empty(chrome.Errors);
    }

    [Fact]
    public async Task TheUrlHoldsTheAttentionModuleAndTheFullSizeFigure()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        const string module = "decoder|0|decoder.block.0.layer.0.SelfAttention";
        await chrome.Page.ClickAsync("#views button[data-view='attention']");
        await chrome.Page.SelectAsync("#att-module", module);
        await UrlSays(chrome, "module=" + Uri.EscapeDataString(module));
        var url = (await chrome.Json("location.href")).GetString()!;
        const string Grid = "[window.__tta.state().view, window.__tta.state().module, document.getElementById('att-module').value, Array.from(document.querySelectorAll('#att-grid canvas.map')).map(c => c.dataset.head + c.dataset.panel + c.toDataURL())]";
        var drawn = $"document.getElementById('att-grid').dataset.drawn === {JsonSerializer.Serialize(module)}";
        await chrome.Page.WaitForExpressionAsync(drawn);
        var before = await chrome.Json(Grid);
        await Reload(chrome, url);
        await chrome.Page.WaitForExpressionAsync(drawn);
        Assert.Equal(before.GetRawText(), (await chrome.Json(Grid)).GetRawText());
        Assert.Equal(module, before[1].GetString());

        // The full-size figure, stepped to the next of its group.
        await chrome.Page.ClickAsync("#views button[data-view='figures']");
        await chrome.Page.WaitForSelectorAsync("#gallery section figure img");
        await chrome.Page.EvaluateExpressionAsync("document.querySelectorAll('#gallery section')[1].querySelector('img').click()");
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('lightbox').hidden");
        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        const string Figure = "[document.getElementById('lightbox').hidden, document.getElementById('lightbox-caption').textContent, document.getElementById('lightbox-position').textContent, document.querySelector('#lightbox-image img').getAttribute('src'), window.__tta.state().figure]";
        var shown = await chrome.Json(Figure);
        var stem = shown[4].GetString()!;
        Assert.Contains(Uri.EscapeDataString(stem), shown[3].GetString());
        await UrlSays(chrome, "figure=" + Uri.EscapeDataString(stem));
        url = (await chrome.Json("location.href")).GetString()!;
        await Reload(chrome, url);
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('lightbox').hidden");
        Assert.Equal(shown.GetRawText(), (await chrome.Json(Figure)).GetRawText());
        Assert.Equal("figures", (await chrome.Json("window.__tta.state().view")).GetString());
        // Closing it is a step back can undo.
        await chrome.Page.Keyboard.PressAsync("Escape");
        Assert.DoesNotContain("figure=", await Hash(chrome));
        await chrome.Page.EvaluateExpressionAsync("history.back()");
        await chrome.Page.WaitForExpressionAsync("!document.getElementById('lightbox').hidden");
        Assert.Equal(shown.GetRawText(), (await chrome.Json(Figure)).GetRawText());
        Assert.Empty(chrome.Errors);
    }

    [Fact]
    public async Task BackAndForwardStepThroughViewsAndTextsAndAStaleUrlFallsBackToTheDefaults()
    {
        await using var chrome = await Open();
        if (chrome is null) return;
        const string Where = "[window.__tta.state().view, window.__tta.state().text, window.__tta.state().panes[0].text, document.getElementById('text').value]";
        async Task<string> At() => (await chrome.Json(Where)).GetRawText();
        await chrome.Page.ClickAsync("#views button[data-view='attention']");
        await chrome.Page.ClickAsync("#views button[data-view='trajectory']");
        await chrome.Page.SelectAsync("#text", "two");
        Assert.Equal("""["trajectory","two","two","two"]""", await At());
        await chrome.Page.EvaluateExpressionAsync("history.back()");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().text === 'one'");
        Assert.Equal("""["trajectory","one","one","one"]""", await At());
        await chrome.Page.EvaluateExpressionAsync("history.back()");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().view === 'attention'");
        Assert.False((await chrome.Json("document.getElementById('view-attention').hidden")).GetBoolean());
        await chrome.Page.EvaluateExpressionAsync("history.back()");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().view === 'similarity'");
        await chrome.Page.EvaluateExpressionAsync("history.forward()");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().view === 'attention'");
        Assert.Equal("""["attention","one","one","one"]""", await At());
        // A step within a view replaces the entry: back from the third layer leaves the view, not the layer.
        await chrome.Page.ClickAsync("#views button[data-view='similarity']");
        await chrome.Page.FocusAsync($"{FirstPane} input.layer");
        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        await chrome.Page.Keyboard.PressAsync("ArrowRight");
        await UrlSays(chrome, "layer=encoder_hidden_states.2");
        await chrome.Page.EvaluateExpressionAsync("history.back()");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().view === 'attention'");
        await chrome.Page.EvaluateExpressionAsync("history.forward()");
        await chrome.Page.WaitForExpressionAsync("window.__tta.state().view === 'similarity'");
        Assert.Equal(2, (await chrome.Json("window.__tta.state().panes[0].index")).GetInt32());
        Assert.Empty(chrome.Errors);

        // Values the page does not have (a renamed model, a removed text, a layer or figure no longer there): the
        // defaults, no error, and the URL says what is shown.
        await Reload(chrome, new Uri(run.Page).AbsoluteUri
            + "#view=nosuch&model=gone&text=renamed&measure=manhattan&layer=encoder_hidden_states.99&token=9999&scale=odd&compare=1&layer2=x&figure=nofigure&module=no%7C1");
        var state = await chrome.Json("window.__tta.state()");
        Assert.Equal(("similarity", "t5", "one"), (state.GetProperty("view").GetString(), state.GetProperty("model").GetString(), state.GetProperty("text").GetString()));
        Assert.Equal(JsonValueKind.Null, state.GetProperty("highlight").ValueKind);
        Assert.Equal(JsonValueKind.Null, state.GetProperty("figure").ValueKind);
        Assert.True(state.GetProperty("shared").GetBoolean());
        var panes = state.GetProperty("panes");
        Assert.Equal(2, panes.GetArrayLength());
        Assert.Equal(("cosine", 0, 1), (panes[0].GetProperty("measure").GetString(), panes[0].GetProperty("index").GetInt32(), panes[1].GetProperty("index").GetInt32()));
        Assert.True((await chrome.Json("document.getElementById('lightbox').hidden")).GetBoolean());
        Assert.Equal("#view=similarity&model=t5&text=one&measure=cosine&layer=encoder_hidden_states.0&compare=1&model2=t5&text2=one&measure2=cosine&layer2=encoder_hidden_states.1",
            await Hash(chrome));
        Assert.Empty(chrome.Errors);
    }
}
