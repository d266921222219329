using SkiaSharp;
using Tta.Core;

namespace Tta.Figures;

/// <summary>
/// Small PNG copies of the static figures for the explorer's gallery (a 512-token heatmap is about 6000 px square; the
/// gallery shows it at <see cref="MaxSide"/> px), made by the Figures unit from the raster it has just drawn — not by
/// the explorer from the PNG file, whose decoding took two thirds of the explorer's time and ran after every figure
/// unit. Resampled with a cubic filter, written by our PNG encoder: same raster, same bytes. The Figures unit asks for
/// them through its figure context (<see cref="FigureContext.Thumbnails"/>), which the kinds pass to the renderers.
/// </summary>
public static class Thumbnails
{
    public const int MaxSide = 320;

    /// <summary>The folder beside a figure unit's files that holds its thumbnails ('~' starts no figure's file stem).</summary>
    public const string Folder = "~thumbs";

    /// <summary>The thumbnail of the figure file <paramref name="figure"/>: <c>~thumbs/&lt;stem&gt;.png</c> beside it.</summary>
    public static string PathFor(string figure) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(figure))!, Folder, Path.GetFileNameWithoutExtension(figure) + ".png");

    /// <summary>Whether <paramref name="path"/> is a thumbnail (a file in a <see cref="Folder"/> folder), not a figure.</summary>
    public static bool IsThumbnail(string path) => Path.GetFileName(Path.GetDirectoryName(path)) == Folder;

    /// <summary>Writes the thumbnail of the raster <paramref name="source"/> to <paramref name="target"/> atomically.</summary>
    public static void Write(SKPixmap source, string target)
    {
        ArgumentNullException.ThrowIfNull(source);
        var factor = Math.Min(1.0, (double)MaxSide / Math.Max(source.Width, source.Height));
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(source.Width * factor)), Math.Max(1, (int)Math.Round(source.Height * factor)),
            SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var small = new SKBitmap(info);
        using var pixels = small.PeekPixels();
        if (!source.ScalePixels(pixels, new SKSamplingOptions(SKCubicResampler.Mitchell)))
            throw new InvalidOperationException($"{target}: SkiaSharp could not resize a {source.Width}x{source.Height} raster");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
        AtomicFile.WriteAllBytes(target, PngEncoder.Encode(pixels, 72));
    }

    /// <summary>Width and height of a PNG from its header, or null.</summary>
    public static (int Width, int Height)? PngSize(string path)
    {
        Span<byte> head = stackalloc byte[24];
        using var stream = File.OpenRead(path);
        if (stream.ReadAtLeast(head, 24, throwOnEndOfStream: false) < 24 || head[1] != 'P' || head[2] != 'N' || head[3] != 'G') return null;
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(head[16..]), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(head[20..]));
    }
}
