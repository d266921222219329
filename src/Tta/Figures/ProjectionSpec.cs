using System.Globalization;
using System.Text.Json;
using ScottPlot;
using Tta.Extract;
using Tta.Metrics;

namespace Tta.Figures;

/// <summary>
/// Token trajectories in the 2-D PCA plane of one hidden-state series: <paramref name="X"/> and <paramref name="Y"/> are
/// row-major <c>[tokens, layers]</c>; token t's polyline runs through its points at <paramref name="Layers"/> in order,
/// with a marker at every layer and its label beside its last point.
/// </summary>
public sealed record ProjectionSpec(
    float[] X,
    float[] Y,
    int Tokens,
    IReadOnlyList<int> Layers,
    IReadOnlyList<string>? TokenLabels,
    string Title,
    string XLabel,
    string YLabel,
    string Colormap = "cividis",
    int PlotPixels = 720);
