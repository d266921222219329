using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using YamlDotNet.RepresentationModel;
using Tta.Store;

namespace Tta.Metrics.Attention;

/// <summary><c>metrics.attention</c>: the attention decomposition of chosen blocks and heads (<see cref="AttentionMetricsUnit"/>).</summary>
public sealed class AttentionKind : MetricKind<AttentionMetricSpec>
{
    public const string Key = AttentionMetricSpec.Key;
    private static readonly string[] Keys = ["layers", "heads", "encoder_heads", "decoder_heads"];
    private static readonly string[] Parts = ["qk", "position-bias", "combined", "softmax", AttentionFigures.KernelSlug];

    public override string Name => Key;
    public override string Description => "attention decomposition";
    public override string Example => "attention: { layers: [0] }";

    public override object? Read(YamlNodeReader reader, YamlNode value)
    {
        var f = reader.Fields(value, "'metrics.attention'", Keys, "write e.g. 'attention: { layers: [0], heads: [0, 2] }'");
        var layers = reader.IndexList(reader.Required(f, value, "layers", "'metrics.attention'", "add 'layers: [0]' (block numbers, 0 = first block)"),
            "layers", "layer", "block numbers such as [0] (0 = first block)");
        IReadOnlyList<int>? Heads(string key)
        {
            if (!f.TryGetValue(key, out var h) || YamlNodeReader.IsNull(h.Value) || h.Value is YamlScalarNode { Value: "all" }) return null;
            return reader.IndexList(h.Value, key, "head", "head numbers such as [0, 2], or \"all\"");
        }
        return new AttentionMetricSpec(layers, Heads("heads"), reader.At(value), Heads("encoder_heads"), Heads("decoder_heads"));
    }

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new AttentionMetricsUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => AttentionFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint)
    {
        var caption = figure.What == AttentionFigures.KernelSlug
            ? PaperFigures.KernelTitle
            : AttentionFigures.Panels.Select(p => p.Panel).Where(p => PaperFigures.Slug(p) == figure.What).Select(PaperFigures.Title).FirstOrDefault() ?? figure.What;
        var head = figure.Head ?? -1;
        var module = LayerNames.AttentionModule(new ActivationPoint(figure.Point, figure.Stack, figure.Layer));
        return new GalleryCaption($"attention · {module}", $"head {head} · {caption}",
            Depth: Depth.OfBlock(figure.Layer), Head: head, Part: Array.IndexOf(Parts, figure.What));
    }

    public override bool HasView => true;

    public override void Explore(ExplorerSet set, string parquet) => AttentionView.Add(set, parquet);
}
