using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Tta.Config;

/// <summary>
/// How one metric kind's settings are read: the part of a metric kind the experiment loader needs. The kinds are
/// passed to the loader by its caller (the metric kinds' registry lives above Config); each reads and checks its own
/// entry under <c>metrics:</c>.
/// </summary>
public interface IMetricSettings
{
    /// <summary>The key under <c>metrics:</c>, the figure kind in <c>figures.kinds</c>, and the unit's file name.</summary>
    string Name { get; }

    /// <summary>A <c>metrics:</c> entry that turns it on, for messages (e.g. <c>attention: { layers: [0] }</c>).</summary>
    string Example { get; }

    /// <summary>Its settings when <c>metrics:</c> does not name it: null (off) for every kind but similarity.</summary>
    object? Default { get; }

    /// <summary>Its settings from its YAML value (not null), or null when the value turns it off; errors at file:line:column.</summary>
    object? Read(YamlNodeReader reader, YamlNode value);

    /// <summary>Its settings from the JSON that <see cref="MetricsSpec"/> is written as (run manifests), null when off.</summary>
    object? FromJson(JsonNode? value, JsonSerializerOptions options);
}
