using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics.Nearest;

/// <summary><c>metrics.nearest</c>: the top-k nearest input-embedding rows of every hidden state (<see cref="NearestMetricsUnit"/>).</summary>
public sealed class NearestKind : MetricKind<NearestMetricSpec>
{
    public const string Key = "nearest";
    public const int DefaultK = 5, MaxK = 1000;
    private static readonly string[] Keys = ["k"];

    public override string Name => Key;
    public override string Description => "nearest tokens";
    public override string Example => "nearest: { k: 5 }";

    public override object? Read(YamlNodeReader reader, YamlNode value)
    {
        var f = reader.Fields(value, "'metrics.nearest'", Keys, "write e.g. 'nearest: { k: 5 }'");
        var k = DefaultK;
        if (f.TryGetValue("k", out var kv) && !YamlNodeReader.IsNull(kv.Value))
        {
            k = reader.Int(kv.Value, "k");
            if (k is < 1 or > MaxK)
                throw reader.Error(kv.Value, $"nearest k {k} is out of range", $"use 1..{MaxK} (default {DefaultK})");
        }
        return new NearestMetricSpec(k);
    }

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new NearestMetricsUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => NearestFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) =>
        new("nearest vocabulary token", $"{figure.Stack} · {figure.Point} · {NearestFigures.MeasureLabel(figure.What)}", Depth: Depth.OfBlock(figure.Layer));

    public override bool HasView => true;

    public override void Explore(ExplorerSet set, string parquet) => NearestView.Add(set, parquet);
}
