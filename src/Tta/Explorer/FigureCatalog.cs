using System.Globalization;
using System.Text.RegularExpressions;
using Tta.Figures;

namespace Tta.Explorer;

/// <summary>One static figure of the gallery: its kind, the group it is shown in, a caption, and its files by format.</summary>
public sealed record GalleryFigure(string Kind, string Group, string Caption, string Stem, IReadOnlyDictionary<string, string> Files,
    (int Kind, string Group, int Stack, double Depth, int Head, int Part, string Stem) Order);

/// <summary>
/// Names and orders the Figures stage's files (<see cref="FiguresStage.FileStem"/>, <see cref="MetricFigures"/>) for
/// the explorer's gallery: by kind (similarity, attention, projection, trajectory, nearest), then in depth order
/// (<see cref="Depth"/>), with captions that say stack, layer, head and measure instead of the file name.
/// </summary>
public static partial class FigureCatalog
{
    public static readonly IReadOnlyList<string> Kinds = ["similarity", "attention", "projection", "trajectory", "nearest"];
    private static readonly string[] Stacks = ["decoder-only", "encoder", "decoder"];
    private static readonly string[] AttentionParts = ["qk", "position-bias", "combined", "softmax", MetricFigures.KernelSlug];

    [GeneratedRegex(@"^L(\d+)-")]
    private static partial Regex LayerPrefix();

    [GeneratedRegex(@"-h(\d+)$")]
    private static partial Regex HeadSuffix();

    /// <summary>
    /// Groups <paramref name="files"/> (the outputs of one figure unit) by stem and describes each;
    /// <paramref name="describePoint"/> names a capture point (e.g. hidden state 0 → "embeddings").
    /// </summary>
    public static List<GalleryFigure> Catalog(IEnumerable<string> files, Func<string, string, string> describePoint)
    {
        var result = new List<GalleryFigure>();
        foreach (var group in files.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal))
        {
            var byFormat = group.ToDictionary(f => Path.GetExtension(f).TrimStart('.').ToLowerInvariant(), f => f, StringComparer.Ordinal);
            result.Add(Describe(group.Key, byFormat, describePoint));
        }
        return [.. result.OrderBy(f => f.Order.Kind).ThenBy(f => f.Order.Group, StringComparer.Ordinal).ThenBy(f => f.Order.Stack)
            .ThenBy(f => f.Order.Depth).ThenBy(f => f.Order.Head).ThenBy(f => f.Order.Part).ThenBy(f => f.Order.Stem, StringComparer.Ordinal)];
    }

    public static GalleryFigure Describe(string stem, IReadOnlyDictionary<string, string> files, Func<string, string, string> describePoint)
    {
        var stack = Stacks.FirstOrDefault(s => stem.StartsWith(s + "-", StringComparison.Ordinal)) ?? "";
        var rest = stack.Length > 0 ? stem[(stack.Length + 1)..] : stem;
        var layer = -1;
        if (LayerPrefix().Match(rest) is { Success: true } lm)
        {
            layer = int.Parse(lm.Groups[1].Value, CultureInfo.InvariantCulture);
            rest = rest[lm.Length..];
        }
        foreach (var kind in Kinds.Skip(1))
        {
            var at = rest.LastIndexOf($"-{kind}-", StringComparison.Ordinal);
            if (at < 0) continue;
            var point = rest[..at];
            var what = rest[(at + kind.Length + 2)..];
            var head = -1;
            if (HeadSuffix().Match(point) is { Success: true } hm)
            {
                head = int.Parse(hm.Groups[1].Value, CultureInfo.InvariantCulture);
                point = point[..hm.Index];
            }
            var kindOrder = Kinds.ToList().IndexOf(kind);
            var depth = Depth.Within(point, layer);
            return kind switch
            {
                "attention" => new GalleryFigure(kind, $"attention · {stack} block {layer} · {point}",
                    $"head {head} · {AttentionCaption(what)}", stem, files,
                    (kindOrder, "", Depth.StackOrder(stack), depth, head, Array.IndexOf(AttentionParts, what), stem)),
                "nearest" => new GalleryFigure(kind, "nearest vocabulary token",
                    $"{stack} · {point} · {MetricFigures.NearestMeasureLabel(what)}", stem, files,
                    (kindOrder, "", Depth.StackOrder(stack), depth, 0, 0, stem)),
                "projection" => new GalleryFigure(kind, "trajectory projection (PCA)", $"{stack} · {point}", stem, files,
                    (kindOrder, "", Depth.StackOrder(stack), depth, 0, 0, stem)),
                _ => new GalleryFigure(kind, "trajectory metrics", $"{stack} · {point} · {what.Replace('_', ' ')}", stem, files,
                    (kindOrder, "", Depth.StackOrder(stack), depth, 0, 0, stem)),
            };
        }
        // Similarity: POINT-MEASURE.
        var dash = rest.LastIndexOf('-');
        var (p, measure) = dash > 0 ? (rest[..dash], rest[(dash + 1)..]) : (rest, "");
        var measureLabel = measure switch { "cosine" => "cosine", "dot" => "dot product", _ => measure };
        return new GalleryFigure("similarity", $"similarity · {measureLabel}", $"{stack} · {describePoint(stack, p)}", stem, files,
            (0, measure, Depth.StackOrder(stack), Depth.Within(p, layer), 0, 0, stem));
    }

    private static string AttentionCaption(string what) => what == MetricFigures.KernelSlug
        ? PaperFigures.KernelTitle
        : MetricFigures.Panels.Select(p => p.Panel).Where(p => PaperFigures.Slug(p) == what).Select(PaperFigures.Title).FirstOrDefault() ?? what;
}
