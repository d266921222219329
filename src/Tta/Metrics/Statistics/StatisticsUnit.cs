using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Store;

namespace Tta.Metrics.Statistics;

/// <summary>
/// The layer statistics of one model across the corpus, <c>statistics-MODEL.parquet</c>: per hidden-state series and
/// layer, the five statistics of <see cref="LayerStatisticsAccumulator"/>, streamed over every text's stored
/// activations. Memory is one text plus the accumulators (a D×D covariance per layer, and D per counted word type),
/// whatever the corpus size; where the layers' accumulators would pass <see cref="PassBytes"/> the corpus is read
/// once per group of layers instead.
/// </summary>
public sealed class StatisticsUnit(Workspace ws, Experiment experiment, ModelSpec model)
    : StudyUnit(ws, experiment, StatisticsKind.Key, $"{StatisticsKind.Key}-{model.Key}")
{
    public const string CodeVersion = "statistics-1";
    public const string Format = "statistics/1";
    public const long PassBytes = 1L << 30;

    /// <summary>The measures of the file, in order: one row each per series, its values along the layers.</summary>
    public static readonly IReadOnlyList<string> Measures =
        ["anisotropy", "intra_text_similarity", "self_similarity", "mean_norm", "effective_dimensionality", "self_similarity_types", "tokens"];

    public ModelSpec Model => model;
    public override IReadOnlyList<ModelSpec> Models => [model];
    private StatisticsSettings Settings => Experiment.Metrics.Get<StatisticsSettings>(StatisticsKind.Key)!;

    public override UnitDeclaration Declare() => ReadsCorpus(CodeVersion)
        .Param("metrics.statistics.min_occurrences", Settings.MinOccurrences)
        .Param("metrics.statistics.max_types", Settings.MaxTypes);

    public override IReadOnlyList<string> Run(RunContext context) => WriteOutput(async fingerprint =>
    {
        var corpus = Corpus(model);
        var types = await WordTypes.CountAsync(corpus, Experiment.Texts, Settings.MinOccurrences, Settings.MaxTypes);
        // The series and their layers, from the first text (every text of a model stores the same points).
        var first = await corpus.ReadAsync(Experiment.Texts[0]);
        var plan = first.Series.SelectMany(s => s.Layers.Select((layer, i) => (Series: s.Name, s.Stack, Index: i, Layer: layer, s.Dim))).ToList();
        var results = new Dictionary<(string Series, int Layer), LayerStatistics>();
        foreach (var group in Groups(plan, types.Count))
        {
            Dictionary<(string, int), LayerStatisticsAccumulator> accumulators;
            using (context.Torch.Enter())
                accumulators = group.ToDictionary(p => (p.Series, p.Index), p => new LayerStatisticsAccumulator(p.Dim, types.Count));
            await corpus.ForEachTextAsync(text =>
            {
                var words = types.Count > 0 ? WordTypes.Occurrences(text, types) : [];
                using var torch = context.Torch.Enter();
                foreach (var ((series, index), accumulator) in accumulators)
                {
                    var block = text.Find(series)!.Blocks[index];
                    accumulator.AddText(block.Values, block.Positions, block.Dim);
                    foreach (var (type, tokens) in words)
                        accumulator.AddOccurrence(type, WordTypes.Pool(block, tokens));
                }
                context.UnitProgress?.StepDone();
                return Task.CompletedTask;
            });
            using (context.Torch.Enter())
            {
                foreach (var p in group) results[(p.Series, p.Layer)] = accumulators[(p.Series, p.Index)].Result(Settings.MinOccurrences);
                foreach (var accumulator in accumulators.Values) accumulator.Dispose();
            }
        }

        var meta = Metadata(Format, fingerprint);
        meta[StoreKeys.ModelKey] = model.Key;
        meta[StoreKeys.Model] = model.Id;
        meta[StoreKeys.Layers] = JsonSerializer.Serialize(first.Series.ToDictionary(s => s.Name, s => s.Layers));
        var depth = DepthLayers(model);
        meta[StoreKeys.DepthLayers] = JsonSerializer.Serialize(first.Series.ToDictionary(s => s.Name, _ => depth));
        await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
        foreach (var s in first.Series)
            foreach (var measure in Measures)
            {
                var values = s.Layers.Select(layer => (float)Value(results[(s.Name, layer)], measure)).ToArray();
                await writer.WriteAsync(new ActivationPoint(s.Name, s.Stack, -1, null, measure), values, 1, values.Length);
            }
        await writer.CommitAsync();
    });

    /// <summary>One of <see cref="Measures"/> of <paramref name="s"/>.</summary>
    public static double Value(LayerStatistics s, string measure) => measure switch
    {
        "anisotropy" => s.Anisotropy,
        "intra_text_similarity" => s.IntraTextSimilarity,
        "self_similarity" => s.SelfSimilarity,
        "mean_norm" => s.MeanNorm,
        "effective_dimensionality" => s.EffectiveDimensionality,
        "self_similarity_types" => s.SelfSimilarityTypes,
        "tokens" => s.Tokens,
        _ => throw new ArgumentException($"unknown statistics measure '{measure}'"),
    };

    /// <summary>The layers in groups whose accumulators fit <see cref="PassBytes"/> (one pass over the corpus each).</summary>
    private static IEnumerable<List<(string Series, string Stack, int Index, int Layer, int Dim)>> Groups(
        IEnumerable<(string Series, string Stack, int Index, int Layer, int Dim)> plan, int typeCount)
    {
        var group = new List<(string Series, string Stack, int Index, int Layer, int Dim)>();
        long bytes = 0;
        foreach (var p in plan)
        {
            var size = 8L * p.Dim * ((long)p.Dim + typeCount + 2);
            if (group.Count > 0 && bytes + size > PassBytes)
            {
                yield return group;
                (group, bytes) = ([], 0);
            }
            group.Add(p);
            bytes += size;
        }
        if (group.Count > 0) yield return group;
    }
}
