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
/// record, a list, or <c>bool</c> for kinds that are only on or off): typed access to an experiment's settings, the
/// run-manifest JSON read back as that type, and no explorer view unless the kind adds one.
/// </summary>
public abstract class MetricKind<TSettings> : IMetricKind
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public abstract string Example { get; }
    public virtual object? Default => null;

    public abstract object? Read(YamlNodeReader reader, YamlNode value);

    public virtual void CheckModel(ModelSpec model, JsonObject config, string checkpointDir) { }

    public abstract MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text);

    public abstract IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet);

    public abstract GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint);

    public virtual bool HasView => false;

    public virtual void Explore(ExplorerSet set, string parquet) =>
        throw new InvalidOperationException($"metric kind '{Name}' has no explorer view");

    /// <summary>Null and <c>false</c> are off (the run manifests of older tta versions wrote every kind so).</summary>
    public virtual object? FromJson(JsonNode? value, JsonSerializerOptions options) =>
        value is null || (value is JsonValue v && v.TryGetValue<bool>(out var on) && !on) ? null : value.Deserialize<TSettings>(options);
}
