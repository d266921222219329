using System.Globalization;
using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Metrics.Similarity;
using Tta.Store;

namespace Tta.Metrics.Cka;

/// <summary>
/// Where two models tokenize alike (<see cref="RowPairing.Tokens"/>: T5 and Flan-T5), the difference B − A of their
/// cosine similarity maps at each hidden state both store, for each text the study shows
/// (<see cref="StudyTexts.Shown"/>), drawn with a diverging colormap centred on 0.
/// </summary>
public static class DifferenceMaps
{
    public const string Measure = "cosine";
    public const string Colormap = "balance";
    public const string WhatPrefix = "difference ";

    /// <summary>The similarity units the maps of the pair <paramref name="unit"/> read.</summary>
    public static IEnumerable<SimilarityUnit> Inputs(Workspace ws, CkaUnit unit) =>
        unit.Within ? [] : StudyTexts.Shown(unit.Experiment).SelectMany(t => new[] { new SimilarityUnit(ws, unit.Experiment, unit.A, t), new SimilarityUnit(ws, unit.Experiment, unit.B, t) });

    public static IEnumerable<FigureJob> Render(FigureContext context, CkaUnit unit, CkaFigures.Map map)
    {
        if (unit.Within || map.Pairing != RowPairing.Tokens.Name) yield break;
        foreach (var text in StudyTexts.Shown(unit.Experiment))
        {
            var (a, b) = (new SimilarityUnit(unit.Workspace, unit.Experiment, unit.A, text), new SimilarityUnit(unit.Workspace, unit.Experiment, unit.B, text));
            var (metaA, mapsA) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(a.OutputPath));
            var (metaB, mapsB) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(b.OutputPath));
            if (metaA.GetValueOrDefault(StoreKeys.TokenIds) != metaB.GetValueOrDefault(StoreKeys.TokenIds)) continue;
            var tokens = System.Text.Json.JsonSerializer.Deserialize<string[]>(metaA.GetValueOrDefault(StoreKeys.Tokens) ?? "[]") ?? [];
            var byPoint = mapsB.Where(x => x.Key.Measure == Measure).ToDictionary(x => (x.Key.Point, x.Key.Stack));
            foreach (var left in mapsA.Where(x => x.Key.Measure == Measure))
            {
                if (!byPoint.TryGetValue((left.Key.Point, left.Key.Stack), out var right) || right.Values.Length != left.Values.Length) continue;
                var diff = new float[left.Values.Length];
                for (var i = 0; i < diff.Length; i++) diff[i] = right.Values[i] - left.Values[i];
                var labels = context.Spec.TokenLabels && tokens.Length == left.Positions ? tokens : null;
                var layer = left.Key.Layer.ToString(CultureInfo.InvariantCulture);
                var spec = new HeatmapSpec(diff, left.Positions, left.Dim,
                    Title: LayerNames.Join([unit.Experiment.Name, text.Key, $"{Measure} similarity {unit.B.Key} − {unit.A.Key}", left.Key.Point]),
                    XLabel: "Key token", YLabel: "Query token", XTicks: labels, YTicks: labels, Colormap: Colormap,
                    CellPixels: context.Spec.CellPixels, ColorbarLabel: $"{Measure} difference", CentredOnZero: true);
                var stem = $"difference-{unit.A.Key}-vs-{unit.B.Key}-{text.Key}-{FiguresStage.FileStem(left.Key with { Measure = Measure })}";
                var record = new FigureRecord(CkaKind.Key, left.Key.Stack, left.Key.Point, left.Key.Layer, null, $"{WhatPrefix}{unit.A.Key} {unit.B.Key} {text.Key} L{layer}");
                yield return new FigureJob(stem, () => HeatmapFigure.Render(spec, context.Path(stem), context.Spec.Formats, context.Spec.Dpi, context.Thumbnails),
                    Heatmap: spec, Record: record);
            }
        }
    }
}
