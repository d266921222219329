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

namespace Tta.Metrics.Nearest;

/// <summary>Nearest-vocabulary decoding of every hidden state into nearest.parquet (layout: <see cref="NearestStore"/>).</summary>
public sealed class NearestMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, NearestKind.Key)
{
    public const string CodeVersion = "nearest-2"; // 2: every tokenizer's vocabulary in `token`, Snappy

    /// <summary>Reads the hidden states, and the checkpoint's input embeddings and vocabulary.</summary>
    public override UnitDeclaration Declare() =>
        new UnitDeclaration(CodeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Reads(DownloadStage.For(Ws, Experiment, Model))
            .Section("metrics.nearest", Experiment.Metrics.Get<NearestMetricSpec>(NearestKind.Key))
            .Writes(OutputPath);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var k = Experiment.Metrics.Get<NearestMetricSpec>(NearestKind.Key)!.K;
        var (checkpointDir, _) = DownloadStage.Result(Ws, Experiment, Model);
        IReadOnlyList<string?>? vocabulary = null;
        try
        {
            vocabulary = TokenizerLoader.Load(checkpointDir).Vocabulary;
        }
        catch (NotSupportedException) { /* no tokenizer this version reads: ids only */ }

        return WriteOutput(async fingerprint =>
        {
            var (metadata, blocks) = await VectorStoreReader.ReadAsync(Upstream.OutputPath);
            using var checkpoint = new Checkpoint(checkpointDir);
            using var embeddings = NearestTokens.LoadEmbeddings(checkpoint);
            var groups = new List<NearestStore.Group>();
            var points = StoredPoints.Read(metadata, Upstream.OutputPath);
            var searched = blocks.Where(b => points.IsHiddenStateBlock(b.Key) && b.Dim == embeddings.shape[1]).ToList(); // in embedding space
            foreach (var block in searched)
                foreach (var measure in NearestTokens.Measures)
                    groups.Add(new(block.Key with { Measure = measure },
                        NearestTokens.Search(block.Values, block.Positions, block.Dim, embeddings, k, measure)));
            var meta = MetricsStage.Metadata(metadata, "nearest/1", fingerprint);
            meta[StoreKeys.Points] = StoredPoints.Serialize(searched.Select(b => points[b.Key]));
            meta[StoreKeys.K] = k.ToString(CultureInfo.InvariantCulture);
            await NearestStore.WriteAsync(OutputPath, meta, groups, vocabulary);
        });
    }
}
