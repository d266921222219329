using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Extract;
using Tta.Models;
using Tta.Store;
using Tta.Tokenizers;

namespace Tta.Metrics.LogitLens;

/// <summary>
/// The logit lens of every stored hidden state of the stack the model's head reads (decoder-only; T5: decoder) into
/// logit_lens.parquet (layout: <see cref="LogitLensStore"/>). It loads the model as Extract does (the same one in a
/// process that ran Extract: <see cref="ExtractStage.LoadModel"/>) for its final norm and unembedding.
/// </summary>
public sealed class LogitLensMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, LogitLensKind.Key)
{
    public const string CodeVersion = "logit-lens-1";
    public const string Format = "logit_lens/1";

    /// <summary>Reads the hidden states and the checkpoint (weights and vocabulary); the model's dtypes and device set its arithmetic.</summary>
    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(CodeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Reads(DownloadStage.For(Ws, Experiment, Model))
            .Param("model.dtype", Model.DType).Param("model.device", Model.Device)
            .Section("metrics.logit_lens", Experiment.Metrics.Get<LogitLensSettings>(LogitLensKind.Key))
            .Writes(OutputPath);
        return ExtractStage.ComputeDTypeIfDifferent(Model) is { } compute ? declaration.Param(ExtractUnit.ComputeDTypeParam, compute) : declaration;
    }

    /// <summary>The model's weights (the one Extract loads, shared in a process) and a chunk of probabilities over the vocabulary.</summary>
    public override UnitResources Resources(RunContext context)
    {
        var (checkpoint, _) = DownloadStage.Result(Ws, Experiment, Model);
        var estimate = ExtractStage.Estimate(context, Model, checkpoint, 0);
        return new UnitResources(UnitResources.Small.WorkingBytes, ExtractStage.ModelKey(Model, checkpoint), (long)estimate.WeightBytes,
            Model.Device == "cuda", Torch: true);
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var k = Experiment.Metrics.Get<LogitLensSettings>(LogitLensKind.Key)!.K;
        var (checkpointDir, _) = DownloadStage.Result(Ws, Experiment, Model);
        var config = CheckpointConfigCheck.Load(Path.Combine(checkpointDir, "config.json"));
        MetricKinds.Of(context).Get(LogitLensKind.Key).CheckModel(Model, config, checkpointDir);
        var vocabulary = VocabularyOf(checkpointDir);

        return WriteOutput(async fingerprint =>
        {
            // One block in memory at a time: each hidden state leaves only its positions' top k.
            await using var store = await VectorStoreReader.OpenAsync(Upstream.OutputPath);
            var (metadata, points) = (store.Metadata, store.Points);
            var ids = JsonSerializer.Deserialize<long[]>(metadata[StoreKeys.TokenIds]) ?? [];
            var net = (ILanguageModelHead)ExtractStage.LoadModel(context, Model, checkpointDir, ids.Length);
            var next = net.Architecture.NextTokens(net.Config, ids);
            var groups = new List<LogitLensStore.Group>();
            await store.ForEachBlockAsync(b =>
            {
                if (points.IsHiddenStateBlock(b.Key) && b.Key.Stack == net.Architecture.HeadStack)
                    groups.Add(new(b.Key, LogitLensMath.Compute(net, points[b.Key], b.Values, b.Positions, b.Dim, next, k)));
                return Task.CompletedTask;
            });
            if (groups.Count == 0)
                throw new ConfigException(Experiment.Extract.PointsAt?.FirstOrDefault() ?? Text.At,
                    $"metrics.logit_lens: extract.points stores no hidden state of the '{net.Architecture.HeadStack}' stack of model '{Model.Key}'; store them (e.g. '*hidden_states.*')");
            groups = [.. groups.OrderBy(g => g.Key.Layer)];
            var meta = MetricsStage.Metadata(metadata, Format, fingerprint);
            meta[StoreKeys.Points] = StoredPoints.Serialize(groups.Select(g => points[g.Key]));
            meta[StoreKeys.K] = k.ToString(CultureInfo.InvariantCulture);
            await LogitLensStore.WriteAsync(OutputPath, meta, groups, vocabulary);
        });
    }

    /// <summary>The tokenizer's strings for the ids, or null where no tokenizer this version reads is there (ids only).</summary>
    private static IReadOnlyList<string?>? VocabularyOf(string checkpointDir)
    {
        try { return TokenizerLoader.Load(checkpointDir).Vocabulary; }
        catch (NotSupportedException) { return null; }
    }
}
