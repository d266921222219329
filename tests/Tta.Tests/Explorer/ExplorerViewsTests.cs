using Xunit.Abstractions;

namespace Tta.Tests.Explorer;

/// <summary>
/// The explorer of an experiment that computes similarity maps only (bert-tiny, no attention, projection or nearest
/// tokens), in Chromium: it offers the views it has data for and no others, also when a link asks for one.
/// </summary>
[Trait("Lane", "Full")]
public class ExplorerViewsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AnExperimentWithOnlySimilarityMapsHasNoAttentionOrTrajectoryTab()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        var page = Path.Combine(ws.FiguresDir, "tiny", "index.html");
        await using var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return;
        await chrome.Open(page);
        await chrome.Json("window.__tta.ready");
        const string Tabs = "Array.from(document.querySelectorAll('#views button')).map(b => b.dataset.view)";
        Assert.Equal(["similarity", "figures", "run"], (await chrome.Json(Tabs)).EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["similarity", "figures", "run"], (await chrome.Json("window.__tta.state().views")).EnumerateArray().Select(t => t.GetString()));

        // A link to a view this experiment lacks (say, made for another one) shows the similarity maps, without an error.
        await chrome.Page.GoToAsync("about:blank");
        await chrome.Page.GoToAsync(new Uri(page).AbsoluteUri + "#view=attention&module=encoder%7C0%7Cx");
        await chrome.Json("window.__tta.ready");
        Assert.Equal("similarity", (await chrome.Json("window.__tta.state().view")).GetString());
        Assert.True((await chrome.Json("document.getElementById('view-attention').hidden && document.getElementById('view-trajectory').hidden")).GetBoolean());
        Assert.False((await chrome.Json("document.getElementById('view-similarity').hidden")).GetBoolean());
        Assert.StartsWith("#view=similarity&model=tiny&text=one&", (await chrome.Json("location.hash")).GetString());
        Assert.Empty(chrome.Errors);
    }
}
