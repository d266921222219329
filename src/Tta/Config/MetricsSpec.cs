namespace Tta.Config;

/// <summary>
/// Which metrics to compute: the settings of each configured metric kind, by its name, in the order of the kinds (<see cref="IMetricSettings"/>;
/// each kind reads and types its own: a list of measures for similarity, an <see cref="AttentionMetricSpec"/>, …,
/// <c>true</c> for kinds that are only on or off). A kind that is not configured has no entry. Written to JSON (run
/// manifests) as one property per kind.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(MetricsSpecJsonConverter))]
public sealed record MetricsSpec(IReadOnlyDictionary<string, object> Settings)
{
    public bool Has(string kind) => Settings.ContainsKey(kind);

    /// <summary>The settings of <paramref name="kind"/>, or default (null, false) when it is not configured.</summary>
    public T? Get<T>(string kind) => Settings.TryGetValue(kind, out var v) && v is T t ? t : default;
}
