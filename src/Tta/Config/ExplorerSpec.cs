using System.Text.Json.Serialization;

namespace Tta.Config;

/// <summary>
/// The <c>explorer:</c> section: which texts the interactive page embeds per-text maps for, so a study of hundreds of
/// texts keeps a small page. <c>texts: N</c> (the first N texts) or <c>texts: [key, …]</c>; without the section, the
/// first <see cref="DefaultFirst"/>.
/// </summary>
/// <param name="First">texts: N, else null</param>
/// <param name="Keys">texts: [key, …] (each an existing text key), else null</param>
/// <param name="At">the section in the experiment file; null when it is absent</param>
public sealed record ExplorerSpec(int? First, IReadOnlyList<string>? Keys, SourceSpan? At)
{
    public const int DefaultFirst = 5;

    /// <summary>No <c>explorer:</c> section: the first <see cref="DefaultFirst"/> texts.</summary>
    public static ExplorerSpec Default { get; } = new(null, null, null);

    /// <summary>
    /// Whether the experiment file has the section. Only then is it a param of the explorer unit, so experiments
    /// without it keep their explorer fingerprints.
    /// </summary>
    [JsonIgnore] // derived, not a setting
    public bool Given => First is not null || Keys is not null;

    /// <summary>The texts the page embeds, in the experiment's order.</summary>
    public IReadOnlyList<TextSpec> Select(IReadOnlyList<TextSpec> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (Keys is { } keys)
        {
            var wanted = keys.ToHashSet(StringComparer.Ordinal);
            return [.. texts.Where(t => wanted.Contains(t.Key))];
        }
        return [.. texts.Take(First ?? DefaultFirst)];
    }
}
