using System.Globalization;

namespace Tta.Tests;

/// <summary>
/// Floating-point comparison with a stated tolerance: |expected − actual| ≤ abs + rel·|expected|. Rounding both sides
/// to n decimals (xunit's <c>Assert.Equal(a, b, n)</c>) fails when two close values land on either side of a rounding
/// boundary; a tolerance says what the computation promises (float32 sums: about 1e-5 relative; float64: far less).
/// </summary>
public static class Near
{
    public static void Equal(double expected, double actual, double rel, double abs = 0, string? what = null)
    {
        var difference = Math.Abs(expected - actual);
        var bound = abs + rel * Math.Abs(expected);
        if (difference <= bound) return; // NaN on either side fails here
        var label = what is null ? "" : what + ": ";
        Assert.Fail(string.Create(CultureInfo.InvariantCulture,
            $"{label}expected {expected:R}, got {actual:R}: they differ by {difference:g3}, more than {bound:g3} (rel {rel:g2}, abs {abs:g2})"));
    }
}
