using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics.Similarity;

/// <summary><c>metrics.similarity</c>: token×token similarity maps (always computed; the measures default to both).</summary>
public sealed class SimilarityKind : MetricKind<IReadOnlyList<string>>
{
    public const string Key = "similarity";
    public static IReadOnlyList<string> Measures { get; } = ["cosine", "dot"];

    public override string Name => Key;
    public override string Description => "similarity maps";
    public override string Example => "similarity: [cosine, dot]";
    public override object? Default => Measures;

    public override object? Read(YamlNodeReader reader, YamlNode value) =>
        reader.StringList(value, Key, ("similarity measure", Measures), $"a list of measures, e.g. [{YamlNodeReader.List(Measures)}]");

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new SimilarityUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => SimilarityFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint)
    {
        var measure = figure.What switch { "cosine" => "cosine", "dot" => "dot product", var m => m };
        var (label, depth) = describePoint(figure.Stack, figure.Point, figure.Layer);
        return new GalleryCaption($"similarity · {measure}", label, SubGroup: figure.What, Depth: depth);
    }

    public override bool HasView => true;

    public override void Explore(ExplorerSet set, string parquet) => SimilarityView.Add(set, parquet);
}
