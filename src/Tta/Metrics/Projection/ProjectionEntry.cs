using Tta.Explorer;

namespace Tta.Metrics.Projection;

/// <summary>
/// A series' trajectories in its PCA plane: <see cref="X"/>, <see cref="Y"/> row-major [tokens, layers] over
/// <see cref="Layers"/> (hidden-state indices, labelled by <see cref="LayerLabels"/>, <see cref="Figures.LayerNames.OnTrajectory"/>).
/// </summary>
public sealed record ProjectionEntry(string Series, string Stack, IReadOnlyList<int> Layers, IReadOnlyList<string> LayerLabels,
    IReadOnlyList<double> Ratio, IReadOnlyList<float> X, IReadOnlyList<float> Y) : ViewEntry;
