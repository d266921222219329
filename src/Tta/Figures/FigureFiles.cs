using System.Text;
using System.Text.RegularExpressions;
using SkiaSharp;
using Tta.Core;

namespace Tta.Figures;

/// <summary>
/// Deterministic PNG, PDF and SVG files of a figure drawn on a SkiaSharp canvas in pixels, written atomically. A
/// figure has one physical size: W × H pixels at <c>dpi</c>. The PNG holds the pixels (and says its dpi in a pHYs
/// chunk); the PDF page is W × H × 72 / dpi points, with text as text in a subset of the pinned font that holds only
/// the glyphs drawn, and images at their own resolution (no /Interpolate: viewers scale them nearest-neighbour).
/// </summary>
public static partial class FigureFiles
{
    /// <summary>Pixels per inch when none is given (the experiment's <c>figures.dpi</c> default).</summary>
    public const int DefaultDpi = 150;

    /// <summary>Points per pixel of the PDF page at <paramref name="dpi"/>.</summary>
    public static float PointsPerPixel(int dpi) => 72f / CheckDpi(dpi);

    /// <summary>
    /// Writes <c>pathWithoutExtension.{format}</c> for each requested format. <paramref name="draw"/> draws the figure in
    /// pixels onto a canvas with the typeface to use for text and, for a PDF, the subsets of every font its labels use
    /// (<see cref="LabelSubsets"/>); <paramref name="texts"/> are all the strings it draws (the PDF's font subsets hold
    /// exactly their glyphs). With <paramref name="thumbnails"/>, the PNG's thumbnail follows it (<see cref="WritePng"/>).
    /// </summary>
    internal static IReadOnlyList<string> WriteAll(string pathWithoutExtension, IReadOnlyList<string> formats, FigureLayout layout,
        string title, int dpi, bool thumbnails, IEnumerable<string> texts, Action<SKCanvas, SKTypeface, LabelSubsets?, FigureTarget> draw)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathWithoutExtension);
        ArgumentNullException.ThrowIfNull(draw);
        var wanted = FigureCommon.ParseFormats(formats);
        CheckDpi(dpi);
        var written = new List<string>(wanted.Count);
        foreach (var format in wanted)
        {
            var path = pathWithoutExtension + "." + format;
            switch (format)
            {
                case "png":
                    written.AddRange(WritePng(path, layout.Width, layout.Height, dpi, thumbnails, canvas => draw(canvas, FigureFont.Typeface, null, FigureTarget.Png)));
                    continue;
                case "svg":
                    AtomicFile.WriteAllBytes(path, Svg(layout.Width, layout.Height, canvas => draw(canvas, FigureFont.Typeface, null, FigureTarget.Svg)));
                    break;
                case "pdf":
                    using (var subsets = LabelSubsets.Create(texts))
                        AtomicFile.Write(path, stream => Pdf(stream, title, layout.Width, layout.Height, dpi, canvas => draw(canvas, subsets.Primary, subsets, FigureTarget.Pdf)));
                    break;
            }
            written.Add(path);
        }
        return written;
    }

    /// <summary>
    /// Writes the PNG of a W × H raster drawn by <paramref name="draw"/> to <paramref name="path"/> atomically and, with
    /// <paramref name="withThumbnail"/> (a figure of a Figures unit, for the explorer), its thumbnail from the same raster
    /// (<see cref="Thumbnails"/>); returns the paths written, the PNG first.
    /// </summary>
    public static IReadOnlyList<string> WritePng(string path, int width, int height, int dpi, bool withThumbnail, Action<SKCanvas> draw)
    {
        var thumbnail = withThumbnail ? Thumbnails.PathFor(path) : null;
        AtomicFile.WriteAllBytes(path, Png(width, height, dpi, draw, pixels =>
        {
            if (thumbnail is not null) Thumbnails.Write(pixels, thumbnail);
        }));
        return thumbnail is null ? [path] : [path, thumbnail];
    }

    /// <summary>An opaque W × H raster on white, drawn by <paramref name="draw"/> and shown to <paramref name="alsoUse"/>, as PNG bytes with a pHYs chunk.</summary>
    private static byte[] Png(int width, int height, int dpi, Action<SKCanvas> draw, Action<SKPixmap> alsoUse)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}x{height} raster");
        surface.Canvas.Clear(SKColors.White);
        draw(surface.Canvas);
        surface.Canvas.Flush();
        using var pixmap = surface.PeekPixels() ?? throw new InvalidOperationException("SkiaSharp raster has no pixels");
        alsoUse(pixmap);
        return PngEncoder.Encode(pixmap, CheckDpi(dpi));
    }

    /// <summary>One-page PDF of W × H pixels at <paramref name="dpi"/>, without dates (identical input, identical bytes).</summary>
    public static void Pdf(Stream stream, string title, int width, int height, int dpi, Action<SKCanvas> draw)
    {
        // No creation/modification dates and no PDF/A (whose XMP id is time-based): identical input, identical bytes.
        var metadata = new SKDocumentPdfMetadata
        {
            Title = title,
            Creator = "tta",
            Producer = "tta (SkiaSharp)",
            Creation = null,
            Modified = null,
            PdfA = false,
            RasterDpi = dpi,
            EncodingQuality = 101, // > 100: images lossless (Flate), never JPEG
        };
        using var document = SKDocument.CreatePdf(stream, metadata)
            ?? throw new InvalidOperationException("SkiaSharp could not create a PDF document");
        var scale = PointsPerPixel(dpi);
        var canvas = document.BeginPage(width * scale, height * scale);
        canvas.Scale(scale);
        draw(canvas);
        document.EndPage();
        document.Close();
    }

    /// <summary>SVG of W × H pixels.</summary>
    public static byte[] Svg(int width, int height, Action<SKCanvas> draw)
    {
        using var stream = new MemoryStream();
        using (var wstream = new SKManagedWStream(stream))
        using (var canvas = SKSvgCanvas.Create(SKRect.Create(width, height), wstream))
            draw(canvas);
        return Encoding.UTF8.GetBytes(NumberSvgIds(Encoding.UTF8.GetString(stream.ToArray())));
    }

    /// <summary>
    /// Skia's SVG writer numbers clip paths and other definitions from a counter shared by the whole process
    /// (<c>cl_7</c>, in hex), so the same figure got other ids depending on what was drawn before it, and on which thread.
    /// Renumbering them in order of appearance (<c>cl_0</c>, <c>cl_1</c>, …) makes SVG bytes depend on the figure alone.
    /// </summary>
    public static string NumberSvgIds(string svg)
    {
        ArgumentNullException.ThrowIfNull(svg);
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var next = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match m in SvgId().Matches(svg))
        {
            var id = m.Groups[1].Value;
            if (renamed.ContainsKey(id)) continue;
            var prefix = m.Groups[2].Value;
            var n = next.GetValueOrDefault(prefix);
            next[prefix] = n + 1;
            renamed[id] = prefix + "_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (renamed.Count == 0) return svg;
        return SvgIdUse().Replace(svg, m => renamed.TryGetValue(m.Value, out var to) ? to : m.Value);
    }

    [GeneratedRegex(@"\bid=""(([A-Za-z]+)_[0-9A-Fa-f]+)""")]
    private static partial Regex SvgId();

    [GeneratedRegex(@"\b[A-Za-z]+_[0-9A-Fa-f]+\b")]
    private static partial Regex SvgIdUse();

    private static int CheckDpi(int dpi) =>
        dpi is >= 1 and <= 10000 ? dpi : throw new ArgumentOutOfRangeException(nameof(dpi), dpi, "dpi must be between 1 and 10000");
}
