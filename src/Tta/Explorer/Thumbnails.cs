using SkiaSharp;
using Tta.Cache;

namespace Tta.Explorer;

/// <summary>
/// Small PNG copies of the static figures for the explorer's gallery (a 512-token heatmap is about 6000 px square; the
/// gallery shows it at <see cref="MaxSide"/> px), resampled with a cubic filter, written by our PNG encoder (Skia's
/// took a third of the explorer's time on the default experiment). Same input, same bytes.
/// </summary>
public static class Thumbnails
{
    public const int MaxSide = 320;

    /// <summary>Writes the thumbnail of <paramref name="png"/> to <paramref name="target"/> atomically; returns its size.</summary>
    public static (int Width, int Height) Write(string png, string target)
    {
        using var source = SKBitmap.Decode(png) ?? throw new InvalidDataException($"{png}: not a PNG that SkiaSharp can read");
        var factor = Math.Min(1.0, (double)MaxSide / Math.Max(source.Width, source.Height));
        var (w, h) = (Math.Max(1, (int)Math.Round(source.Width * factor)), Math.Max(1, (int)Math.Round(source.Height * factor)));
        using var small = source.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidOperationException($"{png}: could not be resized");
        using var pixels = small.PeekPixels();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
        AtomicFile.WriteAllBytes(target, Figures.PngEncoder.Encode(pixels, 72));
        return (w, h);
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
