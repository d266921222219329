using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;

namespace Tta.Metrics.Projection;

/// <summary><c>metrics.projection: true</c>: every token's path in the 2-D PCA plane of all layers (<see cref="TrajectoryProjectionUnit"/>).</summary>
public sealed class ProjectionKind : SwitchMetricKind
{
    public override string Name => TrajectoryProjectionUnit.Kind;
    public override string Description => "trajectory projection";

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new TrajectoryProjectionUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => ProjectionFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) =>
        new("trajectory projection (PCA)", $"{figure.Stack} · {figure.Point}", Depth: Depth.OfBlock(figure.Layer));

    public override bool HasView => true;

    public override void Explore(ExplorerSet set, string parquet) => ProjectionView.Add(set, parquet);
}
