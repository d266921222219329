using System.Globalization;

namespace Tta.Figures;

/// <summary>
/// Short tick labels for numbers: at most <see cref="MaxChars"/> characters whatever the range, with a true minus
/// sign (U+2212) as matplotlib writes it. Fixed-point where the ticks' largest magnitude is in [0.001, 10⁶) and the
/// step needs at most four decimals, else mantissa and exponent with one exponent for all ticks (<c>1.5e6</c>,
/// <c>−2e−5</c>).
/// </summary>
public static class NumberLabels
{
    public const int MaxChars = 12;
    public const char Minus = '−';

    /// <summary>Labels for tick values <paramref name="ticks"/> spaced <paramref name="step"/> apart.</summary>
    public static string[] Format(IReadOnlyList<double> ticks, double step)
    {
        ArgumentNullException.ThrowIfNull(ticks);
        var magnitude = 0.0;
        foreach (var t in ticks)
            if (double.IsFinite(t)) magnitude = Math.Max(magnitude, Math.Abs(t));
        if (!(step > 0) || !double.IsFinite(step)) step = magnitude > 0 ? magnitude : 1;
        var stepExponent = (int)Math.Floor(Math.Log10(step) + 1e-9);
        var fixedPoint = Fixed(ticks, Exact(ticks, 1, Math.Max(0, -stepExponent), step));
        if (magnitude == 0 || magnitude >= 1e-3 && magnitude < 1e6 && stepExponent >= -4)
            return fixedPoint;
        var exponent = (int)Math.Floor(Math.Log10(magnitude) + 1e-9);
        var scale = Math.Pow(10, exponent);
        var scientific = Scientific(ticks, step, exponent, Exact(ticks, scale, Math.Clamp(exponent - stepExponent, 0, 3), step));
        // Ticks close together far from zero (10⁶ + 0.5, 10⁶ + 1): fixed point tells them apart where it fits.
        if (scientific.Distinct().Count() < scientific.Length && fixedPoint.All(l => l.Length <= MaxChars))
            return fixedPoint;
        return scientific;
    }

    /// <summary>The fewest decimals from <paramref name="least"/> (at most 3 more) that write every tick / scale exactly.</summary>
    private static int Exact(IReadOnlyList<double> ticks, double scale, int least, double step)
    {
        if (least > 12) return least;
        for (var d = least; d < least + 3; d++)
            if (ticks.All(t => Math.Abs(Math.Round(t / scale, d) * scale - t) <= step * 1e-6))
                return d;
        return least + 3;
    }

    private static string[] Fixed(IReadOnlyList<double> ticks, int decimals)
    {
        var format = "F" + decimals.ToString(CultureInfo.InvariantCulture);
        return [.. ticks.Select(t => Signed(t, v => v.ToString(format, CultureInfo.InvariantCulture)))];
    }

    private static string[] Scientific(IReadOnlyList<double> ticks, double step, int exponent, int decimals)
    {
        var scale = Math.Pow(10, exponent);
        var format = "F" + decimals.ToString(CultureInfo.InvariantCulture);
        var e = exponent.ToString(CultureInfo.InvariantCulture).Replace('-', Minus);
        return [.. ticks.Select(t => Math.Abs(t) < step * 1e-9
            ? "0"
            : Signed(t / scale, v => v.ToString(format, CultureInfo.InvariantCulture)) + "e" + e)];
    }

    private static string Signed(double v, Func<double, string> format)
    {
        var text = format(Math.Abs(v));
        // "-0.00" is zero: no sign.
        return v < 0 && text.Any(c => c is >= '1' and <= '9') ? Minus + text : text;
    }
}
