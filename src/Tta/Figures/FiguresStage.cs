using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Models;
using Tta.Metrics;
using Tta.Store;

namespace Tta.Figures;

/// <summary>
/// Figures stage: per experiment × model × text, one <see cref="FiguresUnit"/> that renders every requested kind
/// (<c>figures.kinds</c>, each a metric kind's figures: <see cref="IMetricKind.Figures"/>) in every requested format
/// under figures/. Last, per experiment, the interactive explorer (<see cref="Explorer.ExplorerUnit"/>).
/// </summary>
public static class FiguresStage
{
    public const string Name = "Figures";
    public const string CodeVersion = "figures-7"; // 5: figure records in the manifest (the explorer reads them); 6: thumbnails;
    // 7: labels outside Latin script shaped in fallback fonts (Latin-only figures are byte-identical)

    public static IEnumerable<StageUnit> Units(RunContext context) =>
        context.Experiments.SelectMany(e =>
            (from m in e.Models from t in e.Texts select (StageUnit)new FiguresUnit(context.Workspace, e, m, t))
            .Append(new Explorer.ExplorerUnit(context.Workspace, e)));

    /// <summary>File name (without extension) that says model, text, stack, layer, point and kind.</summary>
    public static string FileStem(ActivationPoint key)
    {
        var point = string.Concat(key.Point.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
        var layer = key.Layer >= 0 ? $"L{key.Layer.ToString("00", CultureInfo.InvariantCulture)}-" : "";
        var head = key.Head is { } h ? $"-h{h.ToString("00", CultureInfo.InvariantCulture)}" : "";
        return $"{key.Stack}-{layer}{point}{head}-{key.Measure ?? "values"}";
    }
}
