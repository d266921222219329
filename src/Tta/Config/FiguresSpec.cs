using System.Text.Json.Serialization;

namespace Tta.Config;

/// <summary>Which figures to render and how.</summary>
public sealed record FiguresSpec(
    IReadOnlyList<string> Kinds,        // similarity, attention, trajectory, nearest (default: similarity + configured metrics)
    IReadOnlyList<string> Formats,      // png | pdf | svg
    string Colormap,                    // cividis_r (default) | cividis | viridis | gray
    bool TokenLabels,                   // default true
    int CellPixels,                     // default 12
    int Dpi,                            // default 150 (PNG only)
    // per_text: null (absent) = on for single texts, off for corpus texts. It decides which figure units exist, not
    // what one draws, so it is no param of theirs (nor in their JSON): figures of experiments without it keep their fingerprints.
    [property: JsonIgnore] bool? PerText = null)
{
    /// <summary>Whether <paramref name="text"/> gets its own figures (a Figures unit): <c>per_text</c>, else whether it is a single text.</summary>
    public bool PerTextFor(TextSpec text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return PerText ?? text.Corpus is null;
    }
}
