using System.Diagnostics;
using System.Text;
using SkiaSharp;
using Tta.Figures;
using Xunit.Abstractions;

namespace Tta.Tests.Figures;

/// <summary>
/// Token labels outside Latin script in the figures ScottPlot draws — the nearest-token grid (cells and column ticks),
/// the line chart's legend and the projection's token labels: in the PNG each CJK, emoji and Arabic label differs from the
/// same figure with tofu boxes in its place (a code point no font has, one per grapheme) and the emoji is in colour; the
/// PDF holds the strings (poppler's pdftotext reads them back), Arabic in a subset of Noto Sans Arabic (pdffonts); the SVG
/// draws them as outlines. Latin labels stay with ScottPlot (checked byte for byte by the figures' other tests).
/// </summary>
public class ScottPlotLabelTests(ITestOutputHelper output)
{
    private const string Cjk = "日本語";
    private const string Emoji = "👩\u200D💻";
    private const string Arabic = "مرحبا";
    private const string Flag = "🇯🇵";
    private static readonly string[] Tokens = ["▁" + Cjk, Emoji, "▁" + Arabic, Flag, "▁café"];

    private bool FontsInstalled()
    {
        var missing = LabelFonts.Wanted().Where(w => w.Family is "Noto Sans CJK SC" or "Noto Color Emoji" or "Noto Sans Arabic")
            .Where(w => !File.Exists(w.File)).Select(w => $"{w.File} ({w.Package})").ToList();
        if (missing.Count == 0) return true;
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "fonts missing: " + string.Join(", ", missing));
        output.WriteLine("SKIPPED: fonts missing (./build.sh installs them): " + string.Join(", ", missing));
        return false;
    }

    /// <summary>The token with each grapheme the pinned font cannot draw alone replaced by one tofu box.</summary>
    private static string Tofu(string token) =>
        string.Concat(LabelText.Graphemes(token).Select(g => LabelText.NeedsShaping(g) ? "\U0010FFFD" : g));

    private static SKBitmap Png(string path) => SKBitmap.Decode(path) ?? throw new InvalidOperationException($"cannot decode {path}");

    /// <summary>Pixels of <paramref name="rect"/> that differ clearly between the two images (over the part both cover).</summary>
    private static int Differing(SKBitmap a, SKBitmap b, SKRectI rect)
    {
        var n = 0;
        for (var y = Math.Max(0, rect.Top); y < Math.Min(Math.Min(a.Height, b.Height), rect.Bottom); y++)
            for (var x = Math.Max(0, rect.Left); x < Math.Min(Math.Min(a.Width, b.Width), rect.Right); x++)
            {
                SKColor p = a.GetPixel(x, y), q = b.GetPixel(x, y);
                if (Math.Abs(p.Red - q.Red) + Math.Abs(p.Green - q.Green) + Math.Abs(p.Blue - q.Blue) > 48) n++;
            }
        return n;
    }

    /// <summary>Pixels of the flag's red disc: the emoji font drew in colour.</summary>
    private static int Red(SKBitmap bitmap, SKRectI rect)
    {
        var n = 0;
        for (var y = Math.Max(0, rect.Top); y < Math.Min(bitmap.Height, rect.Bottom); y++)
            for (var x = Math.Max(0, rect.Left); x < Math.Min(bitmap.Width, rect.Right); x++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red > 180 && c.Green < 90 && c.Blue < 90) n++;
            }
        return n;
    }

    private static TokenGridSpec Grid(string[] tokens)
    {
        // Row 0 holds the tokens in order, row 1 reversed; the column ticks name them too.
        var labels = tokens.Concat(tokens.Reverse()).ToArray();
        var scores = Enumerable.Range(0, labels.Length).Select(i => (float)(i % 5)).ToArray();
        return new TokenGridSpec(labels, scores, 2, tokens.Length, "nearest · intl", tokens, CellWidth: 64, CellHeight: 24);
    }

    [Fact]
    public void NearestGridDrawsCjkEmojiAndArabicTokensInPngPdfAndSvg()
    {
        if (!FontsInstalled()) return;
        var dir = Repo.TempDir();
        var spec = Grid(Tokens);
        var files = TokenGridFigure.Render(spec, Path.Combine(dir, "grid"), ["png", "pdf", "svg"]);
        var tofu = TokenGridFigure.Render(Grid([.. Tokens.Select(Tofu)]), Path.Combine(dir, "tofu"), ["png"]);
        output.WriteLine($"figure: {files[0]}");
        var layout = TokenGridFigure.ComputeLayout(spec);
        var tofuLayout = TokenGridFigure.ComputeLayout(Grid([.. Tokens.Select(Tofu)]));
        Assert.Equal((layout.Left, layout.Top), (tofuLayout.Left, tofuLayout.Top)); // the cells lie at the same pixels
        using var drawn = Png(files[0]);
        using var boxes = Png(tofu[0]);
        for (var r = 0; r < 2; r++)
            for (var c = 0; c < Tokens.Length; c++)
            {
                var token = spec.Labels[r * Tokens.Length + c];
                var cell = SKRectI.Create(layout.Left + c * spec.CellWidth, layout.Top + r * spec.CellHeight, spec.CellWidth, spec.CellHeight);
                var differing = Differing(drawn, boxes, cell);
                if (token == "▁café")
                    Assert.Equal(0, differing);
                else
                    Assert.True(differing > 15, $"cell ({r},{c}) '{token}' looks like tofu ({differing} px differ)");
            }
        // Column ticks: the band below each tick differs from tofu too (Latin 'café' aside).
        for (var c = 0; c < 4; c++)
        {
            var band = SKRectI.Create(layout.Left + c * spec.CellWidth + spec.CellWidth / 2 - 8, layout.Top + layout.DataHeight + 4, 16, layout.Bottom - 4);
            Assert.True(Differing(drawn, boxes, band) > 15, $"column tick '{Tokens[c]}' looks like tofu");
        }
        var flagCell = SKRectI.Create(layout.Left + 3 * spec.CellWidth, layout.Top, spec.CellWidth, spec.CellHeight);
        Assert.True(Red(drawn, flagCell) > 3, "the flag emoji is not drawn in colour");

        CheckPdf(files[1], [Cjk, Arabic, Emoji, Flag, "café"], expectFonts: ["NotoSansArabic"]);
        var svg = File.ReadAllText(files[2]);
        Assert.DoesNotContain(Cjk, svg); // drawn as outlines and emoji images: the SVG needs no fonts
        Assert.Contains("<image", svg);
        Assert.Contains("café", svg); // Latin labels stay text
    }

    [Fact]
    public void LineLegendAndProjectionLabelsDrawCjkEmojiAndArabicTokens()
    {
        if (!FontsInstalled()) return;
        var dir = Repo.TempDir();
        string[] samples = [Cjk, Emoji, Arabic, Flag];
        for (var k = 0; k < samples.Length; k++)
        {
            var token = samples[k];
            string[] labels = ["0 The", "1 " + token];
            var line = new LineChartSpec([.. Enumerable.Range(0, 2 * 6).Select(i => (float)(i % 6) * (i < 6 ? 1 : -1))], 2, 6, labels, "norm · intl", "Layer", "‖h‖");
            var a = LineFigure.Render(line, Path.Combine(dir, $"line-{k}"), ["png", "pdf"]);
            var b = LineFigure.Render(line with { SeriesLabels = [.. labels.Select(Tofu)] }, Path.Combine(dir, "line-tofu"), ["png"]);
            using (var drawn = Png(a[0]))
            using (var boxes = Png(b[0]))
            {
                var all = SKRectI.Create(0, 0, drawn.Width, drawn.Height);
                Assert.True(Differing(drawn, boxes, all) > 15, $"legend '{token}' looks like tofu");
                if (token == Flag) Assert.True(Red(drawn, all) > 3, "the legend's flag is not in colour");
            }
            CheckPdf(a[1], [token, "The"], expectFonts: []);

            var tokens = new[] { "▁The", "▁" + token, "▁end" };
            // Each token ends (and is labelled) at the left, clear of the data area's clip.
            var x = new float[] { 2, 1, 0, 2, 1, 0, 2, 1, 0 };
            var y = new float[] { 0, 1, 0, 2, 1, 2, 1, 0, 1 };
            var projection = new ProjectionSpec(x, y, 3, [0, 1, 2], tokens, "projection · intl", "PC1", "PC2", PlotPixels: 240);
            var p = ProjectionFigure.Render(projection, Path.Combine(dir, $"projection-{k}"), ["png", "pdf", "svg"]);
            var q = ProjectionFigure.Render(projection with { TokenLabels = [.. tokens.Select(Tofu)] }, Path.Combine(dir, "projection-tofu"), ["png"]);
            using (var drawn = Png(p[0]))
            using (var boxes = Png(q[0]))
            {
                var all = SKRectI.Create(0, 0, drawn.Width, drawn.Height);
                Assert.True(Differing(drawn, boxes, all) > 15, $"projection label '{token}' looks like tofu");
                if (token == Flag) Assert.True(Red(drawn, all) > 3, "the projection's flag is not in colour");
            }
            CheckPdf(p[1], [token, "The", "end"], expectFonts: []);
            output.WriteLine($"figures: {a[0]} {p[0]}");
        }
    }

    /// <summary>pdftotext finds every word; pdffonts lists the fallback fonts (subsets of them).</summary>
    private void CheckPdf(string pdf, string[] words, string[] expectFonts)
    {
        var pdftotext = PdfText.Require(output);
        if (pdftotext is null) return;
        var text = Run(pdftotext, pdf, "-").Replace("\u202B", "").Replace("\u202C", "").Replace("\u202E", "");
        foreach (var word in words)
            Assert.True(text.Contains(word, StringComparison.Ordinal), $"'{word}' not in the text of {pdf}: {text}");
        if (expectFonts.Length == 0) return;
        var fonts = Run(Path.Combine(Path.GetDirectoryName(pdftotext)!, "pdffonts"), pdf);
        output.WriteLine(fonts);
        foreach (var font in expectFonts)
            Assert.Contains(font, fonts);
    }

    private static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed");
        return text;
    }
}
