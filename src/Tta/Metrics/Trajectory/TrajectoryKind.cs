using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;

namespace Tta.Metrics.Trajectory;

/// <summary><c>metrics.trajectory: true</c>: per-token step lengths, cosines and curvature across layers (<see cref="TrajectoryMetricsUnit"/>).</summary>
public sealed class TrajectoryKind : SwitchMetricKind
{
    public const string Key = "trajectory";

    public override string Name => Key;
    public override string Description => "trajectory metrics";

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new TrajectoryMetricsUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => TrajectoryFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) =>
        new("trajectory metrics", $"{figure.Stack} · {figure.Point} · {figure.What.Replace('_', ' ')}", Depth: Depth.OfBlock(figure.Layer));
}
