using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SkiaSharp;
using Tta.Figures;

namespace Tta.Tests;

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

    private static void CheckPdf(byte[] pdf, HeatmapLayout layout)
    {
        Assert.Equal("%PDF-", Encoding.ASCII.GetString(pdf, 0, 5));
        var text = Encoding.Latin1.GetString(pdf);
        Assert.Single(Regex.Matches(text, @"/Type\s*/Page(?![A-Za-z])"));
        Assert.Matches(@"/MediaBox \[0 0 " + layout.Width + " " + layout.Height + @"\]", text);
        // Text is drawn as text with the pinned font embedded, so the page is vector drawing, not a pasted raster.
        Assert.Contains("/FontFile2", text);
        Assert.Matches(@"/FontName /[A-Z]{6}\+DejaVuSans\b", text);
        Assert.DoesNotContain("/CreationDate", text);
        Assert.DoesNotContain("/ModDate", text);
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

        var big = Large(cellPixels: 2);
        var bigger = Large(cellPixels: 4);
        var c = PngSize(File.ReadAllBytes(HeatmapFigure.Render(big, Path.Combine(dir, "c"), ["png"])[0]));
        var d = PngSize(File.ReadAllBytes(HeatmapFigure.Render(bigger, Path.Combine(dir, "d"), ["png"])[0]));
        Assert.Equal(200 * 2, d.Width - c.Width);
        Assert.Equal(200 * 2, d.Height - c.Height);
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
    public void TickLabelsAreEscapedAndTruncated()
    {
        Assert.Equal("supercalifra…", HeatmapFigure.TickLabel("supercalifragilistic"));
        Assert.Equal(13, HeatmapFigure.TickLabel(new string('x', 40)).Length);
        Assert.Equal("exactlytwelv", HeatmapFigure.TickLabel("exactlytwelv"));
        Assert.Equal("\\n", HeatmapFigure.TickLabel("\n"));
        Assert.Equal("a\\tb", HeatmapFigure.TickLabel("a\tb"));
        Assert.Equal("␣␣", HeatmapFigure.TickLabel("  "));
        Assert.Equal(" the", HeatmapFigure.TickLabel(" the"));

        // Every token up to 128 (when cells are tall enough for the text), sparser beyond.
        Assert.Equal(1, HeatmapFigure.TickStep(128, tokens: true, cellPixels: 16, minSpacingPx: 13));
        Assert.Equal(2, HeatmapFigure.TickStep(129, tokens: true, cellPixels: 16, minSpacingPx: 13));
        Assert.Equal(10, HeatmapFigure.TickStep(1000, tokens: true, cellPixels: 16, minSpacingPx: 13));
        Assert.Equal(5, HeatmapFigure.TickStep(100, tokens: true, cellPixels: 3, minSpacingPx: 13));
        Assert.Equal(20, HeatmapFigure.TickStep(200, tokens: false, cellPixels: 2, minSpacingPx: 30));
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
        Assert.True(FigureFont.Typeface.ContainsGlyphs("…␣\\"));
    }
}
