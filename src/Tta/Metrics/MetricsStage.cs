using Tta.Cache;
using Tta.Config;
using Tta.Extract;

namespace Tta.Metrics;

/// <summary>Metrics stage: similarity maps of every stored vector set, per measure, into similarity.parquet.</summary>
public static class MetricsStage
{
    public const string Name = "Metrics";
    public const string CodeVersion = "metrics-1";

    public static IEnumerable<StageUnit> Units(RunContext context) =>
        from e in context.Experiments from m in e.Models from t in e.Texts select (StageUnit)For(context.Workspace, e, m, t);

    public static MetricsUnit For(Workspace ws, Experiment e, ModelSpec m, TextSpec t) => new(ws, e, m, t);

    public static string OutputPath(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        Path.Combine(ws.CacheDir, "metrics", e.Name, m.Key, t.Key, "similarity.parquet");
}

public sealed class MetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) : StageUnit
{
    public override string Stage => MetricsStage.Name;
    public override string Key => $"{experiment.Name}/{model.Key}/{text.Key}";
    public string OutputPath => MetricsStage.OutputPath(ws, experiment, model, text);
    public override string ManifestPath => Path.Combine(Path.GetDirectoryName(OutputPath)!, "manifest.json");
    private ExtractUnit Upstream => ExtractStage.For(ws, experiment, model, text);

    public override StageFingerprint Fingerprint()
    {
        var upstream = StageRunner.Upstream(Upstream.ManifestPath, $"activations of {Key} (stage Extract)");
        return new StageFingerprint(Stage, MetricsStage.CodeVersion)
            .AddConfig("metrics", experiment.Metrics)
            .Add("activations", upstream.Outputs[0].Sha256);
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var fingerprint = Fingerprint().Value;
        Task.Run(async () =>
        {
            var (metadata, blocks) = await VectorStoreReader.ReadAsync(Upstream.OutputPath);
            var meta = metadata.Where(kv => kv.Key is not ("tta.format" or "tta.fingerprint"))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            meta["tta.format"] = "similarity/1";
            meta["tta.fingerprint"] = fingerprint;
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
            // Similarity maps are defined for per-token vector sets; per-head attention blocks are already maps.
            foreach (var block in blocks.Where(b => b.Key.Head is null && b.Positions > 0))
                foreach (var measure in experiment.Metrics.Similarity)
                {
                    var map = SimilarityMap.Compute(block.Values, block.Positions, block.Dim, measure);
                    await writer.WriteAsync(block.Key with { Measure = measure }, map, block.Positions, block.Positions);
                }
            await writer.CommitAsync();
        }).GetAwaiter().GetResult();
        return [OutputPath];
    }
}
