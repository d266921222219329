using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Tta.Config;

namespace Tta.Metrics;

/// <summary>
/// <see cref="MetricsSpec"/> as JSON: one property per configured kind, in registry order, holding its settings
/// (<c>{"similarity": ["cosine", "dot"], "attention": {"layers": [0], …}, "trajectory": true}</c>); read back through
/// each kind (<see cref="IMetricKind.FromJson"/>), with null and false as off. A kind <paramref name="kinds"/> does not
/// know is an error.
/// </summary>
/// <param name="kinds">the registry the settings belong to (tta's own kinds without it).</param>
public sealed class MetricsSpecJsonConverter(MetricKinds kinds) : JsonConverter<MetricsSpec>
{
    public MetricsSpecJsonConverter() : this(MetricKinds.Default) { }

    public override MetricsSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var node = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("metrics: expected an object");
        var settings = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, value) in node)
        {
            var kind = kinds.Find(name) ?? throw new JsonException($"metrics: unknown metric kind '{name}' (known: {string.Join(", ", kinds.Names)})");
            if (kind.FromJson(value, options) is { } v) settings[name] = v;
        }
        return new MetricsSpec(settings);
    }

    public override void Write(Utf8JsonWriter writer, MetricsSpec value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var kind in kinds)
        {
            if (!value.Settings.TryGetValue(kind.Name, out var settings)) continue;
            writer.WritePropertyName(kind.Name);
            JsonSerializer.Serialize(writer, settings, settings.GetType(), options);
        }
        writer.WriteEndObject();
    }
}
