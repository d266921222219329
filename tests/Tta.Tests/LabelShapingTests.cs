using System.Text;
using SkiaSharp;
using Tta.Explorer;
using Tta.Figures;
using Xunit.Abstractions;
using HbBuffer = HarfBuzzSharp.Buffer;

namespace Tta.Tests;

/// <summary>
/// Labels outside Latin script: CJK, emoji (a ZWJ sequence among them) and Arabic are drawn with glyphs, not tofu boxes,
/// in the PNG (raster compared with a rendering of the .notdef box), in the PDF (poppler reads the strings back) and in
/// the explorer page in Chromium (screenshot saved, pixels compared with the browser's own tofu); Arabic is shaped
/// (joining forms, right to left) and mixed-direction labels are in bidi order.
/// </summary>
public class LabelShapingTests(ITestOutputHelper output)
{
    private const string Cjk = "日本語";
    private const string Emoji = "👩\u200D💻";
    private const string Arabic = "مرحبا";
    private static readonly string[] Tokens = ["▁" + Cjk, Emoji, "▁" + Arabic, "🇯🇵", "▁שלום", "▁café"];

    /// <summary>Whether the Noto fonts are installed (build.sh installs them); in CI their absence fails the test.</summary>
    private bool FontsInstalled()
    {
        var missing = LabelFonts.Wanted().Where(w => w.Family is "Noto Sans CJK SC" or "Noto Color Emoji" or "Noto Sans Arabic" or "Noto Sans Hebrew")
            .Where(w => !File.Exists(w.File)).Select(w => $"{w.File} ({w.Package})").ToList();
        if (missing.Count == 0) return true;
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "fonts missing: " + string.Join(", ", missing));
        output.WriteLine("SKIPPED: fonts missing (./build.sh installs them): " + string.Join(", ", missing));
        return false;
    }

    [Fact]
    public void EveryGraphemeOfCjkEmojiAndArabicLabelsHasAGlyphInAFallbackFont()
    {
        if (!FontsInstalled()) return;
        foreach (var (label, family) in new[] { (Cjk, "Noto Sans CJK SC"), (Emoji, "Noto Color Emoji"), (Arabic, "Noto Sans Arabic"), ("café", FigureFont.Name) })
        {
            Assert.Equal(label != "café", LabelText.NeedsShaping(label));
            var shaped = LabelText.Shape(label, 11);
            Assert.All(shaped.Runs, r => Assert.Equal(family, r.Face.Family));
            Assert.All(shaped.Runs.SelectMany(r => r.Glyphs), g => Assert.NotEqual(0, g)); // 0 is .notdef, the tofu box
        }
        // The ZWJ sequence is one glyph (the joined emoji), not woman, joiner, laptop.
        Assert.Single(LabelText.Shape(Emoji, 11).Runs.SelectMany(r => r.Glyphs));
    }

    [Fact]
    public void ArabicIsShapedIntoJoiningFormsRightToLeft()
    {
        if (!FontsInstalled()) return;
        var shaped = LabelText.Shape(Arabic, 11);
        var run = Assert.Single(shaped.Runs);
        // The isolated letters, each looked up alone in the font's character map, in logical order.
        var isolated = Arabic.EnumerateRunes().Select(r => run.Face.Shaper.TryGetGlyph((uint)r.Value, out var g) ? (ushort)g : (ushort)0).ToArray();
        Assert.Equal(isolated.Length, run.Glyphs.Length);
        // Visual order is right to left: the first glyph drawn (leftmost) is the last letter (clusters decrease).
        Assert.True(run.Clusters.Zip(run.Clusters.Skip(1)).All(p => p.First > p.Second), "clusters of an RTL run decrease from left to right");
        Assert.True(run.Positions.Zip(run.Positions.Skip(1)).All(p => p.First.X < p.Second.X));
        // Joining forms: the shaped glyphs are not the isolated letters, in either order.
        Assert.NotEqual(isolated, run.Glyphs);
        Assert.NotEqual(isolated.Reverse(), run.Glyphs);
        // And they are what HarfBuzz makes of the word on its own (right to left, Arabic script).
        using var buffer = new HbBuffer();
        buffer.AddUtf8(Arabic);
        buffer.GuessSegmentProperties();
        run.Face.Shaper.Shape(buffer);
        Assert.Equal(HarfBuzzSharp.Direction.RightToLeft, buffer.Direction);
        Assert.Equal(buffer.GlyphInfos.Select(i => (ushort)i.Codepoint), run.Glyphs);
    }

    [Fact]
    public void MixedDirectionLabelsAreInBidiOrder()
    {
        if (!FontsInstalled()) return;
        string Visual(string text) => string.Join("|", LabelText.Shape(text, 11).Runs.Select(r => Encoding.UTF8.GetString(r.Utf8)));
        // LTR paragraph: the Hebrew word and the number after it form one RTL stretch, the number read left to right.
        Assert.Equal("abc |123| |אבג", Visual("abc אבג 123"));
        // RTL paragraph (first strong letter is Arabic): the Latin word sits left of the Arabic one.
        Assert.Equal("abc| |مرحبا", Visual("مرحبا abc"));
    }

    /// <summary>The label drawn alone, as the heatmap draws it, into a raster.</summary>
    private static byte[] Raster(string label, int size = 40)
    {
        var shaped = LabelText.Shape(label, size);
        using var surface = SKSurface.Create(new SKImageInfo(size * 8, size * 2, SKColorType.Rgba8888, SKAlphaType.Opaque))!;
        surface.Canvas.Clear(SKColors.White);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        LabelText.Draw(surface.Canvas, shaped, 4, size * 1.4f, size, paint, null, asPaths: false);
        using var pixmap = surface.PeekPixels();
        return pixmap.GetPixelSpan().ToArray();
    }

    /// <summary>DejaVu's .notdef glyph (the tofu box) drawn once per grapheme at the same place.</summary>
    private static byte[] Tofu(int graphemes, int size = 40)
    {
        using var surface = SKSurface.Create(new SKImageInfo(size * 8, size * 2, SKColorType.Rgba8888, SKAlphaType.Opaque))!;
        surface.Canvas.Clear(SKColors.White);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var pixmap = surface.PeekPixels();
        if (graphemes == 0) return pixmap.GetPixelSpan().ToArray();
        using var font = HeatmapPainter.Font(FigureFont.Typeface, size);
        var advance = font.GetGlyphWidths([0])[0];
        using var builder = new SKTextBlobBuilder();
        var run = builder.AllocatePositionedRun(font, graphemes);
        for (var i = 0; i < graphemes; i++)
        {
            run.Glyphs[i] = 0;
            run.Positions[i] = new SKPoint(i * advance, 0);
        }
        using var blob = builder.Build()!;
        surface.Canvas.DrawText(blob, 4, size * 1.4f, paint);
        return pixmap.GetPixelSpan().ToArray();
    }

    private static int Differing(byte[] a, byte[] b) => Enumerable.Range(0, a.Length / 4).Count(i => Math.Abs(a[4 * i] - b[4 * i]) + Math.Abs(a[4 * i + 1] - b[4 * i + 1]) + Math.Abs(a[4 * i + 2] - b[4 * i + 2]) > 48);

    [Fact]
    public void PngLabelsAreGlyphsNotTofuAndTheFigureRendersThem()
    {
        if (!FontsInstalled()) return;
        // The comparison can see tofu: a character no font has draws exactly the .notdef box.
        Assert.Equal(0, Differing(Raster("\U0010FFFD"), Tofu(1)));
        foreach (var label in new[] { Cjk, Emoji, Arabic })
        {
            var graphemes = LabelText.Graphemes(label).Count;
            var drawn = Raster(label);
            Assert.True(Differing(drawn, Tofu(graphemes)) > 200, $"'{label}' looks like {graphemes} tofu boxes");
            Assert.True(Differing(drawn, Tofu(0)) > 50, $"'{label}' drew nothing");
        }
        // The colour emoji is in colour.
        var emoji = Raster(Emoji);
        Assert.Contains(Enumerable.Range(0, emoji.Length / 4), i => Math.Abs(emoji[4 * i] - emoji[4 * i + 2]) > 80);

        // The heatmap PNG draws these labels: it differs from the same figure with tofu-only labels of equal length.
        var dir = Repo.TempDir();
        var spec = Spec(Tokens);
        var png = HeatmapFigure.Render(spec, Path.Combine(dir, "intl"), ["png"])[0];
        output.WriteLine($"figure: {png}");
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Contains(Enumerable.Range(0, bitmap.Width * bitmap.Height), i =>
        {
            var c = bitmap.GetPixel(i % bitmap.Width, i / bitmap.Width);
            return c.Red > 180 && c.Green < 90 && c.Blue < 90; // the flag's red disc: emoji drawn in colour
        });
    }

    private static HeatmapSpec Spec(string[] tokens)
    {
        var n = tokens.Length;
        var rng = new Random(5);
        var values = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble()).ToArray();
        return new HeatmapSpec(values, n, n, "model · intl", "Token Position", "Token Position", tokens, tokens, "viridis", 24, "cosine similarity");
    }

    [Fact]
    public void PdfHasTheCjkEmojiAndArabicTextAndSvgDrawsThemAsOutlines()
    {
        if (!FontsInstalled()) return;
        var pdftotext = PdfText.Require(output);
        if (pdftotext is null) return;
        var dir = Repo.TempDir();
        var files = HeatmapFigure.Render(Spec(Tokens), Path.Combine(dir, "intl"), ["pdf", "svg"]);
        var latin = HeatmapFigure.Render(Spec([.. Tokens.Select((_, i) => "▁word" + i)]), Path.Combine(dir, "latin"), ["pdf"]);
        // Reading order as poppler extracts it (not -bbox, which lists RTL words in visual order); the bidi embedding
        // marks it puts around RTL words aside.
        var psi = new System.Diagnostics.ProcessStartInfo(pdftotext, [files[0], "-"]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(psi)!;
        var text = process.StandardOutput.ReadToEnd().Replace("\u202B", "").Replace("\u202C", "").Replace("\u202E", "");
        process.WaitForExit();
        output.WriteLine(text);
        output.WriteLine($"pdf {new FileInfo(files[0]).Length} bytes (Latin labels: {new FileInfo(latin[0]).Length}); svg {new FileInfo(files[1]).Length} bytes");
        foreach (var word in new[] { Cjk, Arabic, "שלום", Emoji, "café" })
            Assert.Contains(word, text);
        // The PDF embeds subsets: a CJK collection of 18 MB and the 10 MB emoji font must not come along whole.
        Assert.True(new FileInfo(files[0]).Length < 200_000, $"PDF is {new FileInfo(files[0]).Length} bytes");
        var svg = File.ReadAllText(files[1]);
        Assert.DoesNotContain(Cjk, svg);
        Assert.Contains("<image", svg);
    }

    [Fact]
    public async Task ExplorerShowsCjkEmojiAndArabicLabelsInChromium()
    {
        if (!FontsInstalled()) return;
        string[] tokens = [.. TokenLabels.Labels(Tokens, maxChars: 0)];
        var n = tokens.Length;
        var rng = new Random(9);
        var values = Enumerable.Range(0, n * n).Select(i => (float)rng.NextDouble()).ToArray();
        var map = QuantizedMap.From(values, n, n, null);
        var set = new PageSet("m", "intl", tokens, [new SimilarityEntry("encoder", "encoder_hidden_states.0", 0, "embeddings", "cosine", 0)], [], [], null, []);
        var data = new PageData("tta explorer · intl", "intl", ExplorerBuilder.ColormapLut("cividis_r"), "#ffffff", "#ff00ff", "<start>",
            [new PageModel("m", "local/m", "local", "main", null, "float32")], ["intl"], [set],
            [new PageMap(map.Rows, map.Cols, map.Symmetric, map.Min, map.Scale, map.MaskedCells)], "name: intl\n", []);
        var dir = Repo.TempDir();
        var page = Path.Combine(dir, "index.html");
        ExplorerPage.Write(page, data, [map]);

        await using var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return;
        await chrome.Open(page);
        await chrome.Json("window.__tta.ready");
        var screenshot = Path.Combine(dir, "explorer-intl.png");
        await chrome.Page.ScreenshotAsync(screenshot);
        output.WriteLine($"screenshot: {screenshot}");
        Assert.Empty(chrome.Errors);

        // The page's font stack names the Noto fallbacks.
        var family = (await chrome.Json("getComputedStyle(document.body).fontFamily")).GetString()!;
        Assert.Contains("Noto Sans CJK SC", family);
        Assert.Contains("Noto Color Emoji", family);
        // Each label, drawn in the font the page's label canvases use, differs from the browser's tofu for as many
        // graphemes (a code point no font has); the label canvases hold the labels (ink in their rows).
        var check = await chrome.Json($$"""
            (() => {
              const labels = {{System.Text.Json.JsonSerializer.Serialize(tokens)}};
              const canvases = [...document.querySelectorAll('canvas')].filter(c => c.getContext('2d').font.includes('10px'));
              const font = canvases.length ? canvases[0].getContext('2d').font : '10px sans-serif';
              const draw = (text) => { const c = document.createElement('canvas'); c.width = 200; c.height = 40;
                const x = c.getContext('2d'); x.fillStyle = '#fff'; x.fillRect(0, 0, 200, 40); x.font = font.replace('10px', '24px');
                x.fillStyle = '#000'; x.textBaseline = 'middle'; x.fillText(text, 4, 20); return x.getImageData(0, 0, 200, 40).data; };
              const differ = (a, b) => { let n = 0; for (let i = 0; i < a.length; i += 4) if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]) > 48) n++; return n; };
              const seg = new Intl.Segmenter();
              const tofuSelf = differ(draw('\u{10FFFD}'), draw('\u{10FFFE}'));
              const result = labels.map(l => { const g = [...seg.segment(l)].length;
                return { label: l, vsTofu: differ(draw(l), draw('\u{10FFFD}'.repeat(g))), ink: differ(draw(l), draw('')) }; });
              const ink = canvases.map(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let k = 0;
                for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 128) k++; return k; });
              return { font, tofuSelf, result, ink };
            })()
            """);
        output.WriteLine(check.ToString());
        Assert.Equal(0, check.GetProperty("tofuSelf").GetInt32());
        foreach (var r in check.GetProperty("result").EnumerateArray())
        {
            Assert.True(r.GetProperty("ink").GetInt32() > 20, $"{r.GetProperty("label")} drew nothing");
            Assert.True(r.GetProperty("vsTofu").GetInt32() > 50, $"{r.GetProperty("label")} looks like tofu in Chromium");
        }
        Assert.Contains(check.GetProperty("ink").EnumerateArray(), k => k.GetInt32() > 100);
    }
}
