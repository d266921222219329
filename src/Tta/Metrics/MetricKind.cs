using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics;

/// <summary>
/// Base of the metric kinds (<see cref="IMetricKind"/>) whose settings are a <typeparamref name="TSettings"/> (a
/// record, a list, or <c>bool</c> for kinds that are only on or off; <see cref="KindSettings{TSettings}"/>): no explorer
/// view unless the kind adds one.
/// </summary>
public abstract class MetricKind<TSettings> : KindSettings<TSettings>, IMetricKind
{
    public abstract string Description { get; }

    public virtual void CheckModel(ModelSpec model, JsonObject config, string checkpointDir) { }

    public abstract MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text);

    public abstract IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet);

    public abstract GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint);

    public virtual bool HasView => false;

    public virtual void Explore(ExplorerSet set, string parquet) =>
        throw new InvalidOperationException($"metric kind '{Name}' has no explorer view");
}
