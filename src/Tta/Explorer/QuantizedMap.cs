using System.IO.Compression;

namespace Tta.Explorer;

/// <summary>
/// One token×token map for the explorer page, 8-bit quantised: code q in 0..<see cref="Levels"/>−1 stands for
/// <c>Min + q·Scale</c>; <see cref="MaskedCode"/> marks a masked cell (−inf, or the dtype's lowest value used as a mask)
/// and <see cref="MissingCode"/> a NaN or +inf. Min and Scale come from the unmasked finite values only, so a mask never
/// stretches the colour range. A symmetric map (every similarity map: a Gram matrix) keeps only its upper triangle,
/// row by row (i ≤ j). <see cref="Compressed"/> is the codes, raw-deflated.
/// </summary>
public sealed record QuantizedMap(int Rows, int Cols, bool Symmetric, double Min, double Scale, int MaskedCells, byte[] Compressed)
{
    public const int Levels = 254;
    public const byte MissingCode = 254;
    public const byte MaskedCode = 255;

    /// <summary>Largest possible error of a dequantised value: half a step.</summary>
    public double MaxError => Scale / 2;

    public double Max => Min + (Levels - 1) * Scale;

    /// <summary>
    /// Quantises row-major <paramref name="values"/> [rows, cols]; <paramref name="maskThreshold"/>: the static figures'
    /// mask rule for the model's dtype (<see cref="Figures.MaskedValues.Threshold"/>), or null for maps without masks.
    /// </summary>
    public static QuantizedMap From(ReadOnlySpan<float> values, int rows, int cols, float? maskThreshold)
    {
        if (values.Length != rows * cols) throw new ArgumentException($"{values.Length} values for {rows}x{cols}");
        bool Masked(float v) => maskThreshold is { } m && Figures.MaskedValues.IsMasked(v, m);
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        var masked = 0;
        foreach (var v in values)
        {
            if (Masked(v)) { masked++; continue; }
            if (!float.IsFinite(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (double.IsPositiveInfinity(min)) (min, max) = (0, 0);
        var scale = max > min ? (max - min) / (Levels - 1) : 0;
        var symmetric = rows == cols && IsSymmetric(values, rows, (max - min) * 1e-5);
        var codes = new byte[symmetric ? rows * (rows + 1) / 2 : rows * cols];
        var k = 0;
        for (var i = 0; i < rows; i++)
            for (var j = symmetric ? i : 0; j < cols; j++)
            {
                var v = values[i * cols + j];
                codes[k++] = Masked(v) ? MaskedCode
                    : !float.IsFinite(v) ? MissingCode
                    : scale == 0 ? (byte)0
                    : (byte)Math.Clamp((int)Math.Round((v - min) / scale, MidpointRounding.AwayFromZero), 0, Levels - 1);
            }
        return new QuantizedMap(rows, cols, symmetric, min, scale, masked, Deflate(codes));
    }

    private static bool IsSymmetric(ReadOnlySpan<float> values, int n, double tolerance)
    {
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++)
            {
                float a = values[i * n + j], b = values[j * n + i];
                if (a == b || (float.IsNaN(a) && float.IsNaN(b))) continue;
                if (!(Math.Abs(a - b) <= tolerance)) return false;
            }
        return true;
    }

    private static byte[] Deflate(byte[] codes)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
            deflate.Write(codes);
        return output.ToArray();
    }

    /// <summary>The codes back (tests; the page inflates them itself).</summary>
    public byte[] Codes()
    {
        using var input = new DeflateStream(new MemoryStream(Compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>The value the page shows for cell (i, j): null for masked or missing cells.</summary>
    public double? Value(byte[] codes, int i, int j)
    {
        if (Symmetric && i > j) (i, j) = (j, i);
        var index = Symmetric ? i * Cols - i * (i - 1) / 2 + (j - i) : i * Cols + j;
        var q = codes[index];
        return q >= MissingCode ? null : Min + q * Scale;
    }
}
