using System.Text;
using System.Text.Json;
using SkiaSharp;
using Tta.Explorer;
using Tta.Figures;
using Xunit.Abstractions;
using HbBuffer = HarfBuzzSharp.Buffer;
using Tta.Pipeline;
using Tta.Metrics.Similarity;

namespace Tta.Tests.Figures;

/// <summary>
/// Labels outside Latin script: CJK, emoji (a ZWJ sequence among them) and Arabic are drawn with glyphs, not tofu boxes,
/// in the PNG (raster compared with a rendering of the .notdef box), in the PDF (poppler reads the strings back) and in
/// the explorer page in Chromium (screenshot saved, pixels compared with the browser's own tofu); Arabic is shaped
/// (joining forms, right to left) and mixed-direction labels are in bidi order.
/// </summary>
[Trait("Lane", "Full")]
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

    /// <summary>The explorer's tokens: the figures' labels and a ZWJ family followed by an emoji (13 UTF-16 units, 2 graphemes).</summary>
    private const string Family = "👨\u200D👩\u200D👧\u200D👦👍";
    private static readonly string[] ExplorerTokens = [.. Tokens, Family];

    /// <summary>The words whose glyphs the explorer must draw; every other token is left alone in each variant.</summary>
    private static readonly string[] ScriptWords = [Cjk, Emoji, Arabic, "🇯🇵", Family];

    /// <summary>A one-map explorer page of <paramref name="labels"/> (same map, same layout whatever the labels).</summary>
    private static string ExplorerPageOf(string dir, string name, string[] labels)
    {
        var n = labels.Length;
        var rng = new Random(9);
        var values = Enumerable.Range(0, n * n).Select(i => (float)rng.NextDouble()).ToArray();
        var map = QuantizedMap.From(values, n, n, null);
        var set = new PageSet("m", "intl", labels, [new SimilarityEntry("encoder", "encoder_hidden_states.0", 0, "embeddings", "cosine", 0)], [], [], null, []);
        var data = new PageData("tta explorer · intl", "intl", ExplorerBuilder.ColormapLut("cividis_r"), "#ffffff", "#ff00ff", "<start>",
            [new PageModel("m", "local/m", "local", "main", null, "float32")], ["intl"], [set], [],
            [new PageMap(map.Rows, map.Cols, map.Symmetric, map.Min, map.Scale, map.MaskedCells)], "name: intl\n", []);
        var page = Path.Combine(dir, name, "index.html");
        Directory.CreateDirectory(Path.GetDirectoryName(page)!);
        ExplorerPage.Write(page, data, [map]);
        return page;
    }

    /// <summary>The page in Chromium: its screenshot and the screen rectangles of the row and column label canvases.</summary>
    private static async Task<(SKBitmap Shot, SKRectI Rows, SKRectI Cols, string Font)> Shoot(HeadlessChromium chrome, string page)
    {
        await chrome.Open(page);
        await chrome.Json("window.__tta.ready");
        Assert.Empty(chrome.Errors);
        var axes = await chrome.Json("""
            [...document.querySelectorAll('canvas.axis')].map(c => { const r = c.getBoundingClientRect();
              return { x: r.x, y: r.y, w: r.width, h: r.height, font: c.getContext('2d').font }; })
            """);
        // Whole pixels inside the canvas (not the map's border next to it).
        SKRectI Rect(JsonElement a)
        {
            double x = a.GetProperty("x").GetDouble(), y = a.GetProperty("y").GetDouble();
            return new SKRectI((int)Math.Ceiling(x), (int)Math.Ceiling(y), (int)Math.Floor(x + a.GetProperty("w").GetDouble()), (int)Math.Floor(y + a.GetProperty("h").GetDouble()));
        }
        var png = await chrome.Page.ScreenshotDataAsync();
        await File.WriteAllBytesAsync(Path.ChangeExtension(page, ".png"), png);
        var shot = SKBitmap.Decode(png);
        Assert.Equal(2, axes.GetArrayLength());
        return (shot, Rect(axes[0]), Rect(axes[1]), axes[0].GetProperty("font").GetString()!);
    }

    /// <summary>Token <paramref name="i"/>'s band of a label canvas: its row (left canvas) or column (bottom canvas).</summary>
    private static SKRectI Band(SKRectI axis, int i, int n, bool column)
    {
        var length = column ? axis.Width : axis.Height;
        int from = i * length / n, to = (i + 1) * length / n;
        return column ? new SKRectI(axis.Left + from, axis.Top, axis.Left + to, axis.Bottom) : new SKRectI(axis.Left, axis.Top + from, axis.Right, axis.Top + to);
    }

    private static IEnumerable<(int X, int Y)> Pixels(SKRectI r) =>
        Enumerable.Range(r.Top, r.Height).SelectMany(y => Enumerable.Range(r.Left, r.Width).Select(x => (x, y)));

    private static int Differing(SKBitmap a, SKBitmap b, SKRectI r) => Pixels(r).Count(p =>
    {
        SKColor u = a.GetPixel(p.X, p.Y), v = b.GetPixel(p.X, p.Y);
        return Math.Abs(u.Red - v.Red) + Math.Abs(u.Green - v.Green) + Math.Abs(u.Blue - v.Blue) > 48;
    });

    /// <summary>Columns of <paramref name="r"/> with ink (a pixel off white): how wide the label is drawn.</summary>
    private static int InkWidth(SKBitmap a, SKRectI r) => Enumerable.Range(r.Left, r.Width)
        .Count(x => Enumerable.Range(r.Top, r.Height).Any(y => { var c = a.GetPixel(x, y); return c.Red + c.Green + c.Blue < 3 * 255 - 48; }));

    [Fact]
    public async Task ExplorerShowsCjkEmojiAndArabicLabelsInChromium()
    {
        if (!FontsInstalled()) return;
        var tofu = "\U0010FFFD"; // a code point no font has: the browser draws its missing-glyph box
        string[] Variant(Func<string, string> replace) => [.. TokenLabels.Labels(ExplorerTokens, maxChars: 0)
            .Select(label => ScriptWords.Where(label.Contains).Aggregate(label, (l, w) => l.Replace(w, replace(w), StringComparison.Ordinal)))];
        var labels = Variant(w => w);
        var n = labels.Length;
        var dir = Repo.TempDir();
        // The same page with each CJK, emoji and Arabic word drawn as the browser draws it when no font has it: a tofu
        // box per code point (a ZWJ sequence or a flag is several), joiners and variation selectors unseen; with
        // Arabic's letters kept apart by zero-width non-joiners (isolated forms); with Arabic forced left to right.
        var page = ExplorerPageOf(dir, "labels", labels);
        var tofuPage = ExplorerPageOf(dir, "tofu", Variant(w => string.Concat(w.EnumerateRunes().Where(r => r.Value is not (0x200D or 0xFE0F)).Select(_ => tofu))));
        var isolatedPage = ExplorerPageOf(dir, "isolated", Variant(w => w == Arabic ? string.Join("\u200C", w.ToCharArray()) : w));
        var leftToRightPage = ExplorerPageOf(dir, "ltr", Variant(w => w == Arabic ? "\u202D" + w + "\u202C" : w));

        await using var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return;
        var shown = await Shoot(chrome, page);
        output.WriteLine($"screenshots: {Path.ChangeExtension(page, ".png")} (tofu, isolated, ltr beside it)");
        // The page's font stack and the label canvases' font name the Noto fallbacks (a font stack without them is
        // not caught by the pixels where the system's fontconfig falls back to Noto on its own).
        var family = (await chrome.Json("getComputedStyle(document.body).fontFamily")).GetString()!;
        output.WriteLine($"body: {family}; labels: {shown.Font}");
        foreach (var noto in new[] { "Noto Sans CJK SC", "Noto Sans Arabic", "Noto Color Emoji" })
        {
            Assert.Contains(noto, family);
            Assert.Contains(noto, shown.Font);
        }

        var tofus = await Shoot(chrome, tofuPage);
        var isolated = await Shoot(chrome, isolatedPage);
        var leftToRight = await Shoot(chrome, leftToRightPage);
        foreach (var other in new[] { tofus, isolated, leftToRight })
            Assert.Equal((shown.Rows, shown.Cols), (other.Rows, other.Cols));
        var arabic = Array.FindIndex(labels, l => l.Contains(Arabic, StringComparison.Ordinal));
        for (var i = 0; i < n; i++)
        {
            var scripted = ScriptWords.Any(labels[i].Contains);
            foreach (var (axis, column) in new[] { (shown.Rows, false), (shown.Cols, true) })
            {
                var band = Band(axis, i, n, column);
                var vsTofu = Differing(shown.Shot, tofus.Shot, band);
                output.WriteLine($"{labels[i]} ({(column ? "column" : "row")}): {vsTofu} pixels differ from tofu, ink {InkWidth(shown.Shot, band)} px wide (tofu {InkWidth(tofus.Shot, band)})");
                if (!scripted)
                {
                    Assert.Equal(0, vsTofu); // the bands line up: a label left alone is drawn identically
                    continue;
                }
                Assert.True(InkWidth(tofus.Shot, band) >= 3, $"the tofu of {labels[i]} drew nothing: the comparison could not see tofu");
                Assert.True(vsTofu > 25, $"{labels[i]} looks like tofu in the explorer's {(column ? "column" : "row")} labels ({vsTofu} pixels differ)");
                if (i != arabic) continue;
                // Arabic is shaped: the joined word differs from its isolated letters, and is drawn right to left.
                var vsIsolated = Differing(shown.Shot, isolated.Shot, band);
                var vsLeftToRight = Differing(shown.Shot, leftToRight.Shot, band);
                output.WriteLine($"  Arabic: {vsIsolated} pixels differ from the isolated letters (ink {InkWidth(isolated.Shot, band)} px wide), {vsLeftToRight} from left to right");
                Assert.True(vsIsolated > 15, $"Arabic is drawn as isolated letters ({vsIsolated} pixels differ)");
                Assert.True(vsLeftToRight > 15, $"Arabic is drawn left to right ({vsLeftToRight} pixels differ)");
            }
        }
        // Colour emoji are in colour: the emoji's row label has saturated pixels.
        var emojiRow = Band(shown.Rows, Array.FindIndex(labels, l => l.Contains(Emoji, StringComparison.Ordinal)), n, column: false);
        Assert.Contains(Pixels(emojiRow), p => { var c = shown.Shot.GetPixel(p.X, p.Y); return Math.Abs(c.Red - c.Blue) > 80 || Math.Abs(c.Green - c.Blue) > 80; });
    }
}
