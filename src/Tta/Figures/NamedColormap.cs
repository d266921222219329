using ScottPlot;

namespace Tta.Figures;

/// <summary>Wraps another colormap under a different name, optionally reading it backwards.</summary>
public sealed class NamedColormap(string name, IColormap inner, bool reversed = false) : IColormap
{
    public string Name { get; } = name;

    public IColormap Inner { get; } = inner;

    public bool IsReversed { get; } = reversed;

    public Color GetColor(double position)
    {
        if (double.IsNaN(position))
            return Colors.Transparent;
        var p = Math.Clamp(position, 0.0, 1.0);
        return Inner.GetColor(IsReversed ? 1.0 - p : p);
    }
}
