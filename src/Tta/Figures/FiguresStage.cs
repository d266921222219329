using System.Globalization;
using System.Text.Json;
using Tta.Store;

namespace Tta.Figures;

/// <summary>
/// The Figures stage's name, code version and file names. Its units (made by the stage list in Pipeline): per
/// experiment × model × text, one that renders every requested kind (<c>figures.kinds</c>, each a metric kind's
/// figures) in every requested format under figures/; last, per experiment, the interactive explorer.
/// </summary>
public static class FiguresStage
{
    public const string Name = "Figures";
    public const string CodeVersion = "figures-7"; // 5: figure records in the manifest (the explorer reads them); 6: thumbnails;
    // 7: labels outside Latin script shaped in fallback fonts (Latin-only figures are byte-identical)

    /// <summary>File name (without extension) that says model, text, stack, layer, point and kind.</summary>
    public static string FileStem(ActivationPoint key)
    {
        var point = string.Concat(key.Point.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
        var layer = key.Layer >= 0 ? $"L{key.Layer.ToString("00", CultureInfo.InvariantCulture)}-" : "";
        var head = key.Head is { } h ? $"-h{h.ToString("00", CultureInfo.InvariantCulture)}" : "";
        return $"{key.Stack}-{layer}{point}{head}-{key.Measure ?? "values"}";
    }
}
