using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// A colormap defined by a lookup table of evenly spaced colours. Position p in [0, 1] selects entry
/// floor(p * N), with p = 1 mapping to the last entry (the same convention as matplotlib's ListedColormap),
/// so an N-entry table reproduces the published colours exactly.
/// </summary>
public sealed class LutColormap : IColormap
{
    private readonly Color[] _lut;

    public LutColormap(string name, IReadOnlyList<Color> colors)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (colors.Count < 2)
            throw new ArgumentException("a colormap needs at least two colours", nameof(colors));
        Name = name;
        _lut = [.. colors];
    }

    public string Name { get; }

    public int Count => _lut.Length;

    public Color this[int index] => _lut[index];

    public Color GetColor(double position)
    {
        if (double.IsNaN(position))
            return Colors.Transparent;
        var index = position <= 0 ? 0 : position >= 1 ? _lut.Length - 1 : (int)(position * _lut.Length);
        return _lut[Math.Min(index, _lut.Length - 1)];
    }

    /// <summary>The same table in the opposite order.</summary>
    public LutColormap Reversed(string name) => new(name, [.. _lut.Reverse()]);

    /// <summary>Builds a table from RGB triples in [0, 1], rounded to the nearest 8-bit value.</summary>
    public static LutColormap FromRgb(string name, ReadOnlySpan<float> rgb)
    {
        if (rgb.Length % 3 != 0)
            throw new ArgumentException("RGB data must hold whole triples", nameof(rgb));
        var colors = new Color[rgb.Length / 3];
        for (var i = 0; i < colors.Length; i++)
            colors[i] = new Color(ToByte(rgb[3 * i]), ToByte(rgb[3 * i + 1]), ToByte(rgb[3 * i + 2]));
        return new LutColormap(name, colors);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f, MidpointRounding.AwayFromZero), 0f, 255f);
}
