using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;

namespace Tta.Metrics.Norm;

/// <summary>
/// <c>metrics.norm: true</c>: the L2 norm of every token's hidden state at every layer (<see cref="NormMetricsUnit"/>),
/// drawn per series as a line chart of norm against layer (<see cref="NormFigures"/>).
/// </summary>
public sealed class NormKind : SwitchMetricKind
{
    public const string Key = "norm";

    public override string Name => Key;
    public override string Description => "hidden-state norms";

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new NormMetricsUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => NormFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) =>
        new("hidden-state norm", $"{figure.Stack} · {figure.Point} · L2 norm", Depth: Depth.OfBlock(figure.Layer));
}
