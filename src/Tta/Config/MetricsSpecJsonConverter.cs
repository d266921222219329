using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Tta.Config;

/// <summary>
/// <see cref="MetricsSpec"/> as JSON: one property per configured kind, in the order of the kinds it was read with
/// (<c>{"similarity": ["cosine", "dot"], "attention": {"layers": [0], …}, "trajectory": true}</c>); read back through
/// each kind (<see cref="IMetricSettings.FromJson"/>), with null and false as off. Reading needs the kinds: pass
/// <c>new MetricsSpecJsonConverter(kinds)</c> in the options. A kind not among them is an error.
/// </summary>
public sealed class MetricsSpecJsonConverter(IReadOnlyList<IMetricSettings>? kinds) : JsonConverter<MetricsSpec>
{
    /// <summary>The converter <see cref="MetricsSpec"/> names: it writes; reading needs the kinds.</summary>
    public MetricsSpecJsonConverter() : this(null)
    {
    }

    public override MetricsSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (kinds is null) throw new JsonException("metrics: reading them needs the metric kinds (new MetricsSpecJsonConverter(kinds) in the options)");
        var node = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("metrics: expected an object");
        var settings = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, value) in node)
        {
            var kind = kinds.FirstOrDefault(k => k.Name == name)
                ?? throw new JsonException($"metrics: unknown metric kind '{name}' (known: {string.Join(", ", kinds.Select(k => k.Name))})");
            if (kind.FromJson(value, options) is { } v) settings[name] = v;
        }
        return new MetricsSpec(settings);
    }

    public override void Write(Utf8JsonWriter writer, MetricsSpec value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        // The settings are in the kinds' order: the loader adds them in it, and reading keeps the written order.
        foreach (var (name, settings) in value.Settings)
        {
            writer.WritePropertyName(name);
            JsonSerializer.Serialize(writer, settings, settings.GetType(), options);
        }
        writer.WriteEndObject();
    }
}
