using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Config;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics;

/// <summary>
/// The settings half of a kind, per text (<see cref="MetricKind{TSettings}"/>) or per study (<see cref="StudyKind{TSettings}"/>):
/// its key under <c>metrics:</c>, how its YAML is read, and the run-manifest JSON read back as <typeparamref name="TSettings"/>
/// (a record, a list, or <c>bool</c> for kinds that are only on or off).
/// </summary>
public abstract class KindSettings<TSettings> : IMetricSettings
{
    public abstract string Name { get; }
    public abstract string Example { get; }
    public virtual object? Default => null;

    public abstract object? Read(YamlNodeReader reader, YamlNode value);

    /// <summary>Null and <c>false</c> are off (the run manifests of older tta versions wrote every kind so).</summary>
    public virtual object? FromJson(JsonNode? value, JsonSerializerOptions options) =>
        value is null || (value is JsonValue v && v.TryGetValue<bool>(out var on) && !on) ? null : value.Deserialize<TSettings>(options);
}
