using ScottPlot;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// How a score map's values become colours. The colour range is [min, max] of the values that are finite and not
/// masked (<see cref="MaskedValues"/>), widened by 0.5 each way when they are all equal; the colormap is read as a
/// 256-entry table (as matplotlib's); masked and NaN cells get <see cref="Masked"/>, a neutral colour that is not in
/// the colormap. <see cref="IsEmpty"/>: no value to colour at all.
/// </summary>
public sealed class ColorScale
{
    public const int LutSize = 256;

    /// <summary>The masked colour: light grey, or a pale rose for colormaps that contain light grey (gray, …).</summary>
    private static readonly Color[] MaskedCandidates = [new(0xD3, 0xD3, 0xD3), new(0xF2, 0xC4, 0xCE)];

    private ColorScale(IColormap colormap, double min, double max, int masked, int nan, int drawable, float threshold)
    {
        Colormap = colormap;
        Min = min;
        Max = max;
        MaskedCount = masked;
        NaNCount = nan;
        IsEmpty = drawable == 0;
        Threshold = threshold;
        Lut = new SKColor[LutSize];
        for (var i = 0; i < LutSize; i++)
        {
            var c = colormap.GetColor((i + 0.5) / LutSize);
            Lut[i] = new SKColor(c.R, c.G, c.B);
        }
        Masked = MaskedColor(Lut);
    }

    public IColormap Colormap { get; }
    public double Min { get; }
    public double Max { get; }
    public int MaskedCount { get; }
    public int NaNCount { get; }
    public bool IsEmpty { get; }
    public float Threshold { get; }
    public SKColor[] Lut { get; }
    public SKColor Masked { get; }

    /// <summary>What the masked colour stands for in the legend ("masked", "NaN", "masked / NaN"), or null if unused.</summary>
    public string? MaskedLegend => (MaskedCount > 0, NaNCount > 0) switch
    {
        (true, true) => "masked / NaN",
        (true, false) => "masked",
        (false, true) => "NaN",
        _ => null,
    };

    /// <param name="centredOnZero">a diverging scale: the range is [−m, m], m the largest magnitude, so 0 is the middle colour</param>
    public static ColorScale For(float[] values, IColormap colormap, float maskThreshold = MaskedValues.DefaultThreshold, bool centredOnZero = false)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(colormap);
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        int masked = 0, nan = 0;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) { nan++; continue; }
            if (MaskedValues.IsMasked(v, maskThreshold)) { masked++; continue; }
            // +inf is no score either (an overflow); it is left out of the range and drawn at the top colour.
            if (!float.IsFinite(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        var drawable = values.Length - masked - nan;
        if (double.IsPositiveInfinity(min))
            (min, max) = (0, 1);
        else if (centredOnZero)
            (min, max) = Math.Max(Math.Abs(min), Math.Abs(max)) is var m && m > 0 ? (-m, m) : (-0.5, 0.5);
        else if (min == max)
            (min, max) = (min - 0.5, max + 0.5);
        return new ColorScale(colormap, min, max, masked, nan, drawable, maskThreshold);
    }

    /// <summary>The colour of one value.</summary>
    public SKColor ColorOf(float v)
    {
        if (float.IsNaN(v) || MaskedValues.IsMasked(v, Threshold)) return Masked;
        return Lut[LutIndex(v)];
    }

    /// <summary>The table entry of a value that is neither NaN nor masked: floor(p × 256), clamped.</summary>
    public int LutIndex(float v)
    {
        var p = (v - Min) / (Max - Min);
        return p <= 0 ? 0 : p >= 1 ? LutSize - 1 : Math.Min(LutSize - 1, (int)(p * LutSize));
    }

    /// <summary>Row-major RGBA pixels (opaque), one per value.</summary>
    public SKBitmap ToBitmap(float[] values, int rows, int cols)
    {
        var bitmap = new SKBitmap(new SKImageInfo(cols, rows, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        var packed = new uint[LutSize];
        for (var i = 0; i < LutSize; i++) packed[i] = Pack(Lut[i]);
        var maskedPixel = Pack(Masked);
        var target = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(pixels);
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            target[i] = float.IsNaN(v) || MaskedValues.IsMasked(v, Threshold) ? maskedPixel : packed[LutIndex(v)];
        }
        return bitmap;
    }

    /// <summary>RGBA bytes in memory order as one little-endian word.</summary>
    private static uint Pack(SKColor c) => (uint)(c.Red | c.Green << 8 | c.Blue << 16 | 0xFF << 24);

    /// <summary>The first candidate that differs from every colormap entry by more than 40 in some channel.</summary>
    private static SKColor MaskedColor(SKColor[] lut)
    {
        foreach (var candidate in MaskedCandidates)
        {
            var far = lut.All(c => Math.Max(Math.Abs(c.Red - candidate.R), Math.Max(Math.Abs(c.Green - candidate.G), Math.Abs(c.Blue - candidate.B))) > 40);
            if (far) return new SKColor(candidate.R, candidate.G, candidate.B);
        }
        var last = MaskedCandidates[^1];
        return new SKColor(last.R, last.G, last.B);
    }
}
