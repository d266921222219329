using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SkiaSharp;
using Tta.Figures;
using Tta.Metrics.Attention;

namespace Tta.Tests.Figures;

public class FigureTests
{
    private static readonly string[] Tokens = ["The", " quick", " brown", "\n", "supercalifragilistic"];

    /// <summary>5x5 matrix whose every cell differs, increasing along rows then columns.</summary>
    private static HeatmapSpec Small(int cellPixels = 20, string colormap = "cividis_r") =>
        new([.. Enumerable.Range(0, 25).Select(i => (float)i)], 5, 5, "Attention", "key", "query",
            Tokens, Tokens, colormap, cellPixels, "probability");

    private static HeatmapSpec Large(int cellPixels = 3)
    {
        const int n = 200;
        var values = new float[n * n];
        for (var r = 0; r < n; r++)
            for (var c = 0; c < n; c++)
                values[r * n + c] = MathF.Sin(r * 0.05f) * MathF.Cos(c * 0.03f);
        return new(values, n, n, "200x200", "column", "row", null, null, "viridis", cellPixels, "value");
    }

    private static (int Width, int Height) PngSize(byte[] png)
    {
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.True(png.AsSpan(0, 8).SequenceEqual(signature), "PNG signature");
        Assert.Equal("IHDR", Encoding.ASCII.GetString(png, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
    }

    /// <summary>The PDF page is the figure's pixels at the default 150 dpi: W × 72 / 150 points.</summary>
    internal static void CheckMediaBox(string pdfText, int width, int height, int dpi = FigureFiles.DefaultDpi)
    {
        var box = Regex.Match(pdfText, @"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]");
        Assert.True(box.Success, "no MediaBox");
        // Skia prints the float32 page size: a few parts in 10⁷, plus at most half of its last printed digit.
        Near.Equal(width * 72.0 / dpi, double.Parse(box.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), rel: 1e-6, abs: 1e-4, "MediaBox width");
        Near.Equal(height * 72.0 / dpi, double.Parse(box.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), rel: 1e-6, abs: 1e-4, "MediaBox height");
    }

    private static void CheckPdf(byte[] pdf, HeatmapLayout layout)
    {
        Assert.Equal("%PDF-", Encoding.ASCII.GetString(pdf, 0, 5));
        var text = Encoding.Latin1.GetString(pdf);
        Assert.Single(Regex.Matches(text, @"/Type\s*/Page(?![A-Za-z])"));
        CheckMediaBox(text, layout.Width, layout.Height);
        // Text is drawn as text with the pinned font embedded, so the page is vector drawing, not a pasted raster.
        Assert.Contains("/FontFile2", text);
        Assert.Matches(@"/FontName /[A-Z]{6}\+DejaVuSans\b", text);
        Assert.DoesNotContain("/CreationDate", text);
        Assert.DoesNotContain("/ModDate", text);
        // The embedded font is a subset: the whole DejaVu Sans would be about 0.4 MB compressed.
        Assert.True(pdf.Length < 120_000 + 8 * layout.DataWidth * layout.DataHeight / (layout.CellPixels * layout.CellPixels), $"PDF is {pdf.Length} bytes");
    }

    private static void CheckSvg(string path, HeatmapLayout layout)
    {
        var root = XDocument.Load(path).Root!;
        Assert.Equal("svg", root.Name.LocalName);
        Assert.Equal("http://www.w3.org/2000/svg", root.Name.NamespaceName);
        Assert.Equal(layout.Width.ToString(), (string?)root.Attribute("width"));
        Assert.Equal(layout.Height.ToString(), (string?)root.Attribute("height"));
    }

    [Fact]
    public void SmallTokenMatrixRendersInAllFormats()
    {
        var dir = Repo.TempDir();
        var spec = Small();
        var written = HeatmapFigure.Render(spec, Path.Combine(dir, "small"), ["png", "pdf", "svg"]);
        Assert.Equal(["png", "pdf", "svg"], written.Select(p => Path.GetExtension(p).TrimStart('.')));
        var layout = HeatmapFigure.ComputeLayout(spec);

        var (w, h) = PngSize(File.ReadAllBytes(written[0]));
        Assert.Equal((layout.Width, layout.Height), (w, h));
        Assert.Equal(5 * 20, layout.DataWidth);
        Assert.Equal(5 * 20, layout.DataHeight);
        // Margins hold tick labels (12 chars + ellipsis), axis labels, title and colorbar, but no more than that.
        Assert.InRange(layout.Left, 40, 200);
        Assert.InRange(layout.Bottom, 40, 200);
        Assert.InRange(layout.Top, 10, 80);
        Assert.InRange(layout.Right, 40, 160);

        CheckPdf(File.ReadAllBytes(written[1]), layout);
        CheckSvg(written[2], layout);
        Assert.Empty(Directory.GetFiles(dir, ".tmp-*"));
    }

    [Fact]
    public void LargeMatrixWithoutTokensRendersInAllFormats()
    {
        var dir = Repo.TempDir();
        var spec = Large();
        var written = HeatmapFigure.Render(spec, Path.Combine(dir, "large"), ["svg", "PNG", "pdf", "png"]);
        Assert.Equal(3, written.Count);
        var layout = HeatmapFigure.ComputeLayout(spec);
        Assert.Equal(600, layout.DataWidth);
        Assert.Equal(600, layout.DataHeight);
        var (w, h) = PngSize(File.ReadAllBytes(Path.Combine(dir, "large.png")));
        Assert.Equal((layout.Width, layout.Height), (w, h));
        Assert.InRange(w - 600, 40, 250);
        Assert.InRange(h - 600, 40, 250);
        CheckPdf(File.ReadAllBytes(Path.Combine(dir, "large.pdf")), layout);
        CheckSvg(Path.Combine(dir, "large.svg"), layout);
    }

    [Fact]
    public void ImageSizeGrowsByExactlyTheCellsAdded()
    {
        var dir = Repo.TempDir();
        var a = PngSize(File.ReadAllBytes(HeatmapFigure.Render(Small(cellPixels: 20), Path.Combine(dir, "a"), ["png"])[0]));
        var b = PngSize(File.ReadAllBytes(HeatmapFigure.Render(Small(cellPixels: 32), Path.Combine(dir, "b"), ["png"])[0]));
        Assert.Equal(5 * 12, b.Width - a.Width);
        Assert.Equal(5 * 12, b.Height - a.Height);

        // (Maps up to 640 pixels keep the same text size; larger ones scale their title, axis and colour-bar text.)
        var big = Large(cellPixels: 2);
        var bigger = Large(cellPixels: 3);
        var c = PngSize(File.ReadAllBytes(HeatmapFigure.Render(big, Path.Combine(dir, "c"), ["png"])[0]));
        var d = PngSize(File.ReadAllBytes(HeatmapFigure.Render(bigger, Path.Combine(dir, "d"), ["png"])[0]));
        Assert.Equal(200 * 1, d.Width - c.Width);
        Assert.Equal(200 * 1, d.Height - c.Height);
    }

    [Fact]
    public void CellsHaveTheirColormapColourWithRowZeroAtTheTop()
    {
        var dir = Repo.TempDir();
        var spec = Small(cellPixels: 20, colormap: "cividis");
        var path = HeatmapFigure.Render(spec, Path.Combine(dir, "cells"), ["png"])[0];
        var layout = HeatmapFigure.ComputeLayout(spec);
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        var map = Colormaps.Cividis;
        for (var r = 0; r < spec.Rows; r++)
            for (var c = 0; c < spec.Cols; c++)
            {
                var x = layout.Left + c * 20 + 10;
                var y = layout.Top + r * 20 + 10;
                var px = bitmap.GetPixel(x, y);
                var expected = map.GetColor(spec.Values[r * 5 + c] / 24.0);
                var diff = Math.Max(Math.Abs(px.Red - expected.R), Math.Max(Math.Abs(px.Green - expected.G), Math.Abs(px.Blue - expected.B)));
                Assert.True(diff <= 4, $"cell ({r},{c}) at ({x},{y}) is {px}, expected {expected} (diff {diff})");
            }
        // Row 0 (smallest values) is dark blue at the top, the last row yellow at the bottom.
        Assert.True(bitmap.GetPixel(layout.Left + 10, layout.Top + 10).Blue > 60);
        Assert.True(bitmap.GetPixel(layout.Left + 90, layout.Top + 90).Red > 230);
    }

    [Fact]
    public void RenderingIsByteIdentical()
    {
        var dir = Repo.TempDir();
        foreach (var spec in new[] { Small(), Large() })
        {
            var first = HeatmapFigure.Render(spec, Path.Combine(dir, "one"), ["png", "pdf"]);
            var second = HeatmapFigure.Render(spec, Path.Combine(dir, "two"), ["png", "pdf"]);
            for (var i = 0; i < first.Count; i++)
                Assert.True(File.ReadAllBytes(first[i]).AsSpan().SequenceEqual(File.ReadAllBytes(second[i])), first[i]);
        }
        // ... and a different matrix does change the image.
        var other = Small() with { Values = [.. Enumerable.Range(0, 25).Select(i => (float)(24 - i))] };
        var a = File.ReadAllBytes(HeatmapFigure.Render(Small(), Path.Combine(dir, "x"), ["png"])[0]);
        var b = File.ReadAllBytes(HeatmapFigure.Render(other, Path.Combine(dir, "y"), ["png"])[0]);
        Assert.False(a.AsSpan().SequenceEqual(b));
    }

    /// <summary>WCAG relative luminance of an sRGB colour with channels in [0, 1].</summary>
    private static double RelativeLuminance(double r, double g, double b)
    {
        static double Linear(double s) => s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4);
        return 0.2126 * Linear(r) + 0.7152 * Linear(g) + 0.0722 * Linear(b);
    }

    private static double RelativeLuminance(ScottPlot.Color c) => RelativeLuminance(c.R / 255.0, c.G / 255.0, c.B / 255.0);

    [Fact]
    public void CividisMatchesPublishedEndpointsAndRisesInLuminance()
    {
        var map = Colormaps.Cividis;
        Assert.Equal(256, map.Count);
        // Published cividis endpoints (matplotlib's table): #00224E and #FEE838.
        Assert.Equal((0x00, 0x22, 0x4E), (map[0].R, map[0].G, map[0].B));
        Assert.Equal((0xFE, 0xE8, 0x38), (map[255].R, map[255].G, map[255].B));
        // The published table rises in luminance at every step; its 8-bit rounding may only wobble by rounding error.
        var table = Colormaps.CividisRgb;
        Assert.Equal(256 * 3, table.Length);
        var previous = -1.0;
        for (var i = 0; i < 256; i++)
        {
            var lum = RelativeLuminance(table[3 * i], table[3 * i + 1], table[3 * i + 2]);
            Assert.True(lum > previous, $"luminance falls at entry {i}");
            previous = lum;
            Assert.True(Math.Abs(map[i].R - 255 * table[3 * i]) <= 0.5 && Math.Abs(map[i].G - 255 * table[3 * i + 1]) <= 0.5
                && Math.Abs(map[i].B - 255 * table[3 * i + 2]) <= 0.5, $"entry {i} is not the table rounded");
            if (i >= 4)
                Assert.True(RelativeLuminance(map[i]) > RelativeLuminance(map[i - 4]), $"8-bit luminance falls at entry {i}");
        }
        Assert.True(RelativeLuminance(map[255]) > 0.7 && RelativeLuminance(map[0]) < 0.02);
        // Blue to yellow: blue falls and red rises overall.
        Assert.True(map[0].B > map[255].B && map[0].R < map[255].R);

        var reversed = Colormaps.Get("cividis_r");
        Assert.Equal("cividis_r", reversed.Name);
        for (var i = 0; i < 256; i++)
            Assert.Equal(map.GetColor((i + 0.5) / 256), reversed.GetColor(1 - (i + 0.5) / 256));
        Assert.Equal(map[0], map.GetColor(0));
        Assert.Equal(map[255], map.GetColor(1));
        Assert.Equal(map[0], map.GetColor(-3));
        Assert.Equal(ScottPlot.Colors.Transparent, map.GetColor(double.NaN));

        Assert.Same(Colormaps.Get("cividis"), Colormaps.Get("CIVIDIS"));
        var gray = Colormaps.Get("gray");
        Assert.True(RelativeLuminance(gray.GetColor(0)) < RelativeLuminance(gray.GetColor(1)));
        var viridis = Colormaps.Get("viridis");
        var viridisR = Colormaps.Get("viridis_r");
        Assert.Equal(viridis.GetColor(0.25), viridisR.GetColor(0.75));
        Assert.NotEqual(viridis.GetColor(0.25), viridisR.GetColor(0.25));
        Assert.Equal("cividis_r", Colormaps.Default);
    }

    [Fact]
    public void UnknownColormapIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => Colormaps.Get("no-such-map"));
        Assert.Contains("no-such-map", e.Message);
        foreach (var name in new[] { "cividis_r", "cividis", "viridis", "gray" })
            Assert.Contains(name, e.Message);

        var dir = Repo.TempDir();
        Assert.Throws<ArgumentException>(() => HeatmapFigure.Render(Small(colormap: "nope"), Path.Combine(dir, "x"), ["png"]));
        Assert.Throws<ArgumentException>(() => HeatmapFigure.Render(Small(), Path.Combine(dir, "x"), ["jpg"]));
        Assert.Throws<ArgumentException>(() => HeatmapFigure.Render(Small() with { Rows = 4 }, Path.Combine(dir, "x"), ["png"]));
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void TickStepsLabelEveryTokenUpTo512()
    {
        // Every token up to 512 (when cells are tall enough for the text), every k-th beyond, regularly.
        Assert.Equal(1, HeatmapFigure.TickStep(512, tokens: true, cellPixels: 12, minSpacingPx: 8));
        Assert.Equal(2, HeatmapFigure.TickStep(513, tokens: true, cellPixels: 12, minSpacingPx: 8));
        Assert.Equal(2, HeatmapFigure.TickStep(1000, tokens: true, cellPixels: 12, minSpacingPx: 8));
        Assert.Equal(3, HeatmapFigure.TickStep(1500, tokens: true, cellPixels: 12, minSpacingPx: 8));
        // Cells too small for a legible label: every k-th, k as small as fits.
        Assert.Equal(3, HeatmapFigure.TickStep(100, tokens: true, cellPixels: 3, minSpacingPx: 8));
        // Numbers: 1, 2, 5, 10, 20, …
        Assert.Equal(20, HeatmapFigure.TickStep(200, tokens: false, cellPixels: 2, minSpacingPx: 30));
        Assert.Equal("1st", HeatmapFigure.Ordinal(1));
        Assert.Equal("2nd", HeatmapFigure.Ordinal(2));
        Assert.Equal("3rd", HeatmapFigure.Ordinal(3));
        Assert.Equal("12th", HeatmapFigure.Ordinal(12));
        Assert.Equal("22nd", HeatmapFigure.Ordinal(22));
    }

    [Fact]
    public void FontIsTheEmbeddedDejaVuSans()
    {
        var bytes = FigureFont.ReadFontBytes();
        Assert.True(bytes.Length > 100_000);
        Assert.Equal(0x00010000u, BinaryPrimitives.ReadUInt32BigEndian(bytes)); // TrueType sfnt version
        Assert.Equal("DejaVu Sans", FigureFont.Typeface.FamilyName);
        Assert.True(File.Exists(Path.Combine(Repo.Root, "src/Tta/Figures/Fonts/LICENSE-DejaVu.txt")));

        FigureFont.EnsureRegistered();
        FigureFont.EnsureRegistered();
        Assert.Equal(FigureFont.Name, ScottPlot.Fonts.Default);
        Assert.Same(FigureFont.Typeface, ScottPlot.Fonts.GetTypeface("Arial", bold: true, italic: false));
        Assert.Single(ScottPlot.Fonts.FontResolvers, r => r.GetType().DeclaringType == typeof(FigureFont));
        // The glyphs tick labels rely on exist in the pinned font.
        Assert.True(FigureFont.Typeface.ContainsGlyphs("…␣\\↵⇥⍽−·ᵀ"));
    }
    // ---- paper panels, bar chart, line plots, token grid ----

    private static int PdfPageCount(byte[] pdf) =>
        Regex.Matches(Encoding.Latin1.GetString(pdf), @"/Type\s*/Page(?![A-Za-z])").Count;

    /// <summary>Checks every written file: PNG of the layout's size, one-page PDF with that MediaBox, SVG of that size.</summary>
    private static void CheckAllFormats(IReadOnlyList<string> written, int width, int height)
    {
        Assert.Equal(["png", "pdf", "svg"], written.Select(p => Path.GetExtension(p).TrimStart('.')));
        Assert.Equal((width, height), PngSize(File.ReadAllBytes(written[0])));
        var pdf = File.ReadAllBytes(written[1]);
        Assert.Equal("%PDF-", Encoding.ASCII.GetString(pdf, 0, 5));
        Assert.Equal(1, PdfPageCount(pdf));
        var text = Encoding.Latin1.GetString(pdf);
        CheckMediaBox(text, width, height);
        Assert.Contains("/FontFile2", text);
        Assert.True(pdf.Length < 150_000, $"PDF of {pdf.Length} bytes: the font is not subset");
        Assert.DoesNotContain("/CreationDate", text);
        var root = XDocument.Load(written[2]).Root!;
        Assert.Equal("svg", root.Name.LocalName);
        Assert.Equal(width.ToString(), (string?)root.Attribute("width"));
        Assert.Equal(height.ToString(), (string?)root.Attribute("height"));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(written[0])!, ".tmp-*"));
    }

    private static void AssertSameBytes(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (var i = 0; i < a.Count; i++)
            Assert.True(File.ReadAllBytes(a[i]).AsSpan().SequenceEqual(File.ReadAllBytes(b[i])), a[i]);
    }

    private static int MaxChannelDiff(SKColor px, ScottPlot.Color c) =>
        Math.Max(Math.Abs(px.Red - c.R), Math.Max(Math.Abs(px.Green - c.G), Math.Abs(px.Blue - c.B)));

    [Fact]
    public void PaperPanelsHaveThePapersTitlesAxesAndDefaultColormap()
    {
        Assert.Equal("Q.Kᵀ", PaperFigures.Title(AttentionPanel.QueryKey));
        Assert.Equal("Position Bias", PaperFigures.Title(AttentionPanel.PositionBias));
        Assert.Equal("Combined Attention Score", PaperFigures.Title(AttentionPanel.Combined));
        Assert.Equal("Final Attention Weights (after softmax)", PaperFigures.Title(AttentionPanel.Softmax));
        Assert.Equal("Position Bias Kernel", PaperFigures.Kernel([1f], [0]).Title);
        Assert.True(FigureFont.Typeface.ContainsGlyphs("Q.Kᵀ"), "the pinned font draws the superscript T");

        var dir = Repo.TempDir();
        const int n = 6;
        string[] tokens = ["<s>", " The", " cat", "\t", " extraordinarily-long-token", "."];
        var rng = new Random(7);
        foreach (var panel in Enum.GetValues<AttentionPanel>())
        {
            var values = new float[n * n];
            for (var i = 0; i < values.Length; i++)
                values[i] = (float)rng.NextDouble();
            // Causal mask in the pre-softmax panels: -inf above the diagonal is drawn grey, not an error.
            if (panel == AttentionPanel.Combined)
                for (var q = 0; q < n; q++)
                    for (var k = q + 1; k < n; k++)
                        values[q * n + k] = float.NegativeInfinity;
            var spec = PaperFigures.Attention(panel, values, n, n, tokens, tokens, cellPixels: 16);
            Assert.Equal("Key Position", spec.XLabel);
            Assert.Equal("Query Position", spec.YLabel);
            Assert.Equal("cividis_r", spec.Colormap);
            var written = HeatmapFigure.Render(spec, Path.Combine(dir, PaperFigures.Slug(panel)), ["png", "pdf", "svg"]);
            var layout = HeatmapFigure.ComputeLayout(spec);
            CheckAllFormats(written, layout.Width, layout.Height);
            Assert.Equal(n * 16, layout.DataWidth);
            // The title is in the SVG as text.
            Assert.Contains(PaperFigures.Title(panel), File.ReadAllText(written[2]));
        }
    }

    [Fact]
    public void KernelIsReadOffTheBiasMatrixAndDrawnAsBarsOfProportionalHeight()
    {
        // A relative bias: bias[q, k] = f(k - q), with a causal mask above the diagonal.
        const int n = 12;
        static float F(int d) => d == 0 ? 2.5f : MathF.Sin(d * 0.7f) * 3 / (1 + Math.Abs(d));
        var matrix = new float[n * n];
        for (var q = 0; q < n; q++)
            for (var k = 0; k < n; k++)
                matrix[q * n + k] = k > q ? float.NegativeInfinity : F(k - q);
        var (positions, bias) = PaperFigures.KernelFromMatrix(matrix, n, n);
        Assert.Equal(Enumerable.Range(-(n - 1), n), positions);
        for (var i = 0; i < positions.Length; i++)
            Near.Equal(F(positions[i]), bias[i], rel: 1e-6, abs: 0, $"offset {positions[i]}"); // a float64 mean of equal floats, rounded to float32

        var spec = PaperFigures.Kernel(bias, positions, barPixels: 16, plotHeight: 200);
        var dir = Repo.TempDir();
        var written = BarChartFigure.Render(spec, Path.Combine(dir, "kernel"), ["png", "pdf", "svg"]);
        var layout = BarChartFigure.ComputeLayout(spec);
        CheckAllFormats(written, layout.Width, layout.Height);
        Assert.Equal(n * 16, layout.DataWidth); // one BarPixels slot per relative position
        Assert.Equal(200, layout.DataHeight);
        Assert.Contains("Relative Key Position", File.ReadAllText(written[2]));

        // Each bar's height in pixels (bar-coloured pixels down its centre column) is proportional to |value|.
        using var bitmap = SKBitmap.Decode(written[0]);
        var heights = new double[n];
        for (var i = 0; i < n; i++)
        {
            var x = layout.Left + i * 16 + 8;
            for (var y = layout.Top; y < layout.Top + layout.DataHeight; y++)
                if (MaxChannelDiff(bitmap.GetPixel(x, y), BarChartFigure.BarColor) <= 3)
                    heights[i]++;
            // Between bars (20% gap) the background shows.
            var gap = bitmap.GetPixel(layout.Left + i * 16, layout.Top + 2);
            Assert.True(i == 0 || gap.Red > 240 && gap.Green > 240 && gap.Blue > 240, $"gap before bar {i} is {gap}");
        }
        var scale = heights.Max() / bias.Max(Math.Abs);
        Assert.InRange(scale, 25, 200 / 2.5);
        for (var i = 0; i < n; i++)
            Assert.True(Math.Abs(heights[i] - Math.Abs(bias[i]) * scale) <= 2.5, $"bar {positions[i]}: {heights[i]} px for {bias[i]}");

        AssertSameBytes(written, BarChartFigure.Render(spec, Path.Combine(dir, "again"), ["png", "pdf", "svg"]));
        // Few bars keep their width: the axis widens instead.
        var few = BarChartFigure.ComputeLayout(PaperFigures.Kernel([1, 2, 3], [-1, 0, 1], barPixels: 10));
        Assert.Equal(BarChartFigure.MinDataWidth, few.DataWidth);
        Assert.Throws<ArgumentException>(() => BarChartFigure.Render(spec with { Positions = [1, 1, 2] }, Path.Combine(dir, "bad"), ["png"]));
    }

    [Fact]
    public void LinePlotsDrawEveryTokenOrTheMeanWithABand()
    {
        const int series = 5, points = 13;
        var values = new float[series * points];
        for (var s = 0; s < series; s++)
            for (var p = 0; p < points; p++)
                values[s * points + p] = (float)(Math.Log(1 + p) * (1 + 0.2 * s) + s * 0.1);
        values[2 * points + 4] = float.NaN; // a gap
        string[] labels = ["The", " quick", " brown", " fox", " jumps"];
        var dir = Repo.TempDir();
        foreach (var mode in Enum.GetValues<LineMode>())
        {
            var spec = new LineChartSpec(values, series, points, labels, "Norm across layers", "Layer", "‖h‖", mode);
            var written = LineFigure.Render(spec, Path.Combine(dir, mode.ToString()), ["png", "pdf", "svg"]);
            var layout = LineFigure.ComputeLayout(spec);
            CheckAllFormats(written, layout.Width, layout.Height);
            Assert.Equal(points * 32, layout.DataWidth);
            AssertSameBytes(written, LineFigure.Render(spec, Path.Combine(dir, mode + "-again"), ["png", "pdf", "svg"]));
            var svg = File.ReadAllText(written[2]);
            if (mode == LineMode.PerSeries)
                Assert.Contains("jumps", svg); // legend names the tokens
            else
                Assert.Contains("mean of 5", svg);
        }

        // Mean and s.d. skip non-finite values; checked against a direct computation.
        var (mean, std) = LineFigure.MeanAndStd(values, series, points);
        for (var p = 0; p < points; p++)
        {
            var column = Enumerable.Range(0, series).Select(s => (double)values[s * points + p]).Where(double.IsFinite).ToArray();
            var m = column.Average();
            Near.Equal(m, mean[p], rel: 1e-12, abs: 1e-12, $"mean {p}"); // float64 sums
            Near.Equal(Math.Sqrt(column.Select(v => (v - m) * (v - m)).Average()), std[p], rel: 1e-9, abs: 1e-9, $"s.d. {p}");
        }
        Assert.True(double.IsNaN(LineFigure.MeanAndStd([float.NaN, float.NaN], 2, 1).Mean[0]));

        // Many series: no legend, still renders; FirstX shifts the x axis.
        var many = new LineChartSpec([.. Enumerable.Range(0, 40 * 3).Select(i => (float)(i % 7))], 40, 3, null, "", "Layer", "v",
            FirstX: 1, PointPixels: 10);
        var manyLayout = LineFigure.ComputeLayout(many);
        Assert.Equal(LineFigure.MinDataWidth, manyLayout.DataWidth);
        Assert.Equal((manyLayout.Width, manyLayout.Height),
            PngSize(File.ReadAllBytes(LineFigure.Render(many, Path.Combine(dir, "many"), ["png"])[0])));
    }

    [Fact]
    public void TokenGridColoursCellsByScoreAndWritesTheNearestToken()
    {
        const int layers = 4, positions = 5;
        string[] input = ["The", " quick", " brown", " fox", "\n"];
        var labels = new string[layers * positions];
        var scores = new float[layers * positions];
        for (var l = 0; l < layers; l++)
            for (var p = 0; p < positions; p++)
            {
                labels[l * positions + p] = l == 0 ? input[p] : (l == 3 && p == 1 ? "" : $"tok{l}{p}-longer-than-the-cell");
                scores[l * positions + p] = l * positions + p;
            }
        var spec = new TokenGridSpec(labels, scores, layers, positions, "Nearest token", input, CellWidth: 60, CellHeight: 22);
        var dir = Repo.TempDir();
        var written = TokenGridFigure.Render(spec, Path.Combine(dir, "grid"), ["png", "pdf", "svg"]);
        var layout = TokenGridFigure.ComputeLayout(spec);
        CheckAllFormats(written, layout.Width, layout.Height);
        Assert.Equal(positions * 60, layout.DataWidth);
        Assert.Equal(layers * 22, layout.DataHeight);
        var svg = File.ReadAllText(written[2]);
        Assert.Contains("brown", svg);
        Assert.Contains("…", svg);
        AssertSameBytes(written, TokenGridFigure.Render(spec, Path.Combine(dir, "again"), ["png", "pdf", "svg"]));

        using var bitmap = SKBitmap.Decode(written[0]);
        var map = Colormaps.Get(spec.Colormap);
        for (var l = 0; l < layers; l++)
            for (var p = 0; p < positions; p++)
            {
                int x0 = layout.Left + p * 60, y0 = layout.Top + l * 22;
                var expected = map.GetColor(scores[l * positions + p] / 19.0);
                // A corner of the cell shows its colour ...
                var corner = bitmap.GetPixel(x0 + 3, y0 + 3);
                Assert.True(MaxChannelDiff(corner, expected) <= 4, $"cell ({l},{p}) is {corner}, expected {expected}");
                // ... and its middle band holds text (pixels far from the background) unless the label is empty.
                var ink = 0;
                for (var x = x0 + 2; x < x0 + 58; x++)
                    for (var y = y0 + 6; y < y0 + 16; y++)
                        if (MaxChannelDiff(bitmap.GetPixel(x, y), expected) > 60)
                            ink++;
                if (labels[l * positions + p].Length == 0)
                    Assert.Equal(0, ink);
                else
                    Assert.True(ink > 10, $"cell ({l},{p}) shows no text ({ink} px)"); // "↵" alone is a small glyph
            }

        var fitted = TokenGridFigure.FitLabel("a-very-long-nearest-token", 10, 40);
        Assert.EndsWith("…", fitted);
        using (var font = FigureFont.CreateFont(10))
            Assert.True(font.MeasureText(fitted) <= 40);
        Assert.Equal("cat", TokenGridFigure.FitLabel("cat", 10, 40));
        Assert.Throws<ArgumentException>(() => TokenGridFigure.Render(spec with { Rows = 3 }, Path.Combine(dir, "bad"), ["png"]));
    }
}
