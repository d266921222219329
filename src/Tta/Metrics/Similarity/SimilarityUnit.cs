using System.Globalization;
using System.Text.Json;
using Parquet;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Extract;
using Tta.Models;
using Tta.Store;
using Tta.Tokenizers;

namespace Tta.Metrics.Similarity;

/// <summary>Similarity maps of every stored per-token vector set, per measure, into similarity.parquet.</summary>
public sealed class SimilarityUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, SimilarityKind.Key)
{
    // The similarity unit came first: its key and manifest name have no kind suffix.
    public override string Key => UnitName;
    public override string ManifestPath => Path.Combine(Path.GetDirectoryName(OutputPath)!, "manifest.json");

    public override UnitDeclaration Declare() =>
        new UnitDeclaration(MetricsStage.CodeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Param("metrics.similarity", Experiment.Metrics.Get<IReadOnlyList<string>>(SimilarityKind.Key)!)
            .Writes(OutputPath);

    /// <summary>Computes with libtorch only for the maps themselves (<see cref="UnitResources.TorchSections"/>).</summary>
    public override UnitResources Resources(RunContext context) => UnitResources.SmallTorchSections;

    public override IReadOnlyList<string> Run(RunContext context)
    {
        return WriteOutput(async fingerprint =>
        {
            await using var store = await VectorStoreReader.OpenAsync(Upstream.OutputPath);
            var metadata = store.Metadata;
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, MetricsStage.Metadata(metadata, "similarity/1", fingerprint), withMeasure: true);
            // One block in memory at a time. Similarity maps are defined for per-token vector sets; per-head attention
            // blocks are already maps.
            var measures = Experiment.Metrics.Get<IReadOnlyList<string>>(SimilarityKind.Key)!;
            var points = store.Points;
            var written = new List<CapturePoint>();
            await store.ForEachBlockAsync(async block =>
            {
                if (block.Key.Head is not null) return;
                float[][] maps;
                using (context.Torch.Enter()) maps = SimilarityMap.ComputeAll(block.Values, block.Positions, block.Dim, measures);
                for (var i = 0; i < measures.Count; i++)
                    await writer.WriteAsync(block.Key with { Measure = measures[i] }, maps[i], block.Positions, block.Positions);
                written.Add(points[block.Key]);
            });
            writer.SetMetadata(StoreKeys.Points, StoredPoints.Serialize(written));
            await writer.CommitAsync();
        });
    }
}
