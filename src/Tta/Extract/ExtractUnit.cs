using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Core;
using Tta.Download;
using Tta.Models;
using Tta.Store;
using Tta.Tokenizers;
using static TorchSharp.torch;

namespace Tta.Extract;

public sealed class ExtractUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) : StageUnit
{
    public override string Stage => ExtractStage.Name;
    public override string Key => $"{experiment.Name}/{model.Key}/{text.Key}";
    public string OutputPath => ExtractStage.OutputPath(ws, experiment, model, text);
    public string AttentionInputsPath => ExtractStage.AttentionInputsPath(ws, experiment, model, text);
    public override string ManifestPath => Path.Combine(Path.GetDirectoryName(OutputPath)!, "manifest.json");

    /// <summary>
    /// The model's weights (shared by every text of the model in one process) and one forward pass's working set. The
    /// estimate is made once per model and run: it reads the checkpoint's config and weights header, which for thousands
    /// of texts took longer than checking them all (a no-op run asks every unit what it needs).
    /// </summary>
    public override UnitResources Resources(RunContext context)
    {
        var (checkpoint, _) = DownloadStage.Result(ws, experiment, model);
        var estimate = context.Keep("estimate:" + ExtractStage.ModelKey(model, checkpoint), () => ExtractStage.Estimate(context, model, checkpoint, 0));
        return new UnitResources((long)estimate.ActivationBytes, ExtractStage.ModelKey(model, checkpoint),
            (long)estimate.WeightBytes, model.Device == "cuda", Torch: true, TorchSections: true);
    }

    /// <summary>
    /// Reads the model's checkpoint (every file Download recorded: config, weights, tokenizer) and the text. The
    /// resolved compute dtype is a param only where it differs from the dtype, so every model that computes in its
    /// load dtype (every float32 model) keeps the fingerprint it had before compute_dtype existed.
    /// </summary>
    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(ExtractStage.CodeVersion)
            .Reads(DownloadStage.For(ws, experiment, model))
            .Param("model.id", model.Id).Param("model.source", model.Source).Param("model.revision", model.Revision)
            .Param("model.dtype", model.DType).Param("model.device", model.Device)
            .Section("extract", experiment.Extract)
            .Param("text", Hashing.Sha256(text.Text))
            .Writes(OutputPath);
        if (ExtractStage.ComputeDTypeIfDifferent(model) is { } compute) declaration.Param(ComputeDTypeParam, compute);
        // Only when batching: a padded batch changes the GEMMs' shapes and so the float32 bytes (within 1e-6).
        if (experiment.Extract.Batch > 1) declaration.Param(BatchParam, experiment.Extract.Batch);
        // Only the blocks: the heads are chosen when decomposing, so changing them does not rerun the model.
        return experiment.Metrics.Get<AttentionMetricSpec>(AttentionMetricSpec.Key) is { } attention
            ? declaration.Param("metrics.attention.layers", attention.Layers).Writes(AttentionInputsPath)
            : declaration;
    }

    /// <summary>The param (and manifest component <c>param:model.compute_dtype</c>) of a compute dtype other than the dtype.</summary>
    public const string ComputeDTypeParam = "model.compute_dtype";

    /// <summary>The param of <c>extract.batch</c> above 1 (at 1 it is no param, so fingerprints stay as they were).</summary>
    public const string BatchParam = "extract.batch";

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var (checkpoint, _) = DownloadStage.Result(ws, experiment, model);
        var tokenizer = context.Keep("tokenizer:" + checkpoint, () => TokenizerLoader.Load(checkpoint));
        var tokens = tokenizer.Encode(text.Text);
        if (tokens.Ids.Length > experiment.Extract.MaxTokens)
            throw new ConfigException(text.At,
                $"text '{text.Key}' is {tokens.Ids.Length} tokens for model '{model.Key}', more than extract.max_tokens = {experiment.Extract.MaxTokens}; raise max_tokens or shorten the text");
        // libtorch work (the model's load, the forward pass and its captures' stores) under the run's gate; the
        // tokenizer, the store's file and its commit outside it, beside another unit's forward pass.
        ITransformerModel net;
        using (context.Torch.Enter()) net = ExtractStage.LoadModel(context, model, checkpoint, tokens.Ids.Length);
        ExperimentLoader.CheckLayers(experiment, model, net.Architecture.LayerCount(net.Config));

        var metadata = new Dictionary<string, string>
        {
            [StoreKeys.Format] = "activations/1",
            [StoreKeys.Experiment] = experiment.Name,
            [StoreKeys.Model] = model.Id,
            [StoreKeys.ModelKey] = model.Key,
            [StoreKeys.Revision] = model.Revision,
            [StoreKeys.RevisionSha] = DownloadStage.ResolvedRevision(ws, experiment, model),
            [StoreKeys.DType] = model.DType,
            [StoreKeys.Text] = text.Key,
            [StoreKeys.Tokens] = JsonSerializer.Serialize(tokens.Tokens),
            [StoreKeys.TokenIds] = JsonSerializer.Serialize(tokens.Ids),
            [StoreKeys.Fingerprint] = Fingerprint().Value,
        };
        // Written where it differs from tta.dtype only, so the stores of models computing in their dtype keep their bytes.
        if (ExtractStage.ComputeDTypeIfDifferent(model) is { } compute) metadata[StoreKeys.ComputeDType] = compute;
        var patterns = experiment.Extract.Points.Select(PointPattern.ToRegex).ToList();
        var layers = experiment.Extract.Layers?.ToHashSet();
        bool Selected(CapturePoint point) =>
            patterns.Any(r => r.IsMatch(point.Name)) && (layers is null || point.Layer < 0 || layers.Contains(point.Layer));
        var forAttention = experiment.Metrics.Get<AttentionMetricSpec>(AttentionMetricSpec.Key) is { } attention ? AttentionCaptures.Filter(net.Architecture, attention.Layers) : null;

        // Each captured tensor goes to its store(s) as the forward pass produces it: memory holds one layer's
        // activations, not the whole set.
        using var scope = NewDisposeScope();
        var writer = VectorStoreWriter.CreateAsync(OutputPath, metadata).GetAwaiter().GetResult();
        VectorStoreWriter? attentionWriter = null;
        try
        {
            if (forAttention is not null)
            {
                var attentionMetadata = new Dictionary<string, string>(metadata)
                {
                    [StoreKeys.Format] = ExtractStage.AttentionInputsFormat,
                    [StoreKeys.ModelType] = net.ModelType,
                    [StoreKeys.Stacks] = JsonSerializer.Serialize(net.Stacks),
                    [StoreKeys.Config] = net.Config.ToJsonString(),
                };
                attentionWriter = VectorStoreWriter.CreateAsync(AttentionInputsPath, attentionMetadata).GetAwaiter().GetResult();
            }
            var (extracted, forMetric) = (new List<CapturePoint>(), new List<CapturePoint>());
            void Store(CapturePoint point, IEnumerable<PointBlock> blocks)
            {
                var (selected, attentionInput) = (Selected(point), forAttention?.Invoke(point) == true);
                var key = StoredPoints.KeyOf(point);
                foreach (var block in blocks)
                {
                    if (selected) writer.WriteAsync(key with { Head = block.Head }, block.Values, block.Rows, block.Cols).GetAwaiter().GetResult();
                    if (attentionInput)
                        attentionWriter!.WriteAsync(key with { Head = block.Head }, block.Values, block.Rows, block.Cols).GetAwaiter().GetResult();
                }
                if (selected) extracted.Add(point);
                if (attentionInput) forMetric.Add(point);
            }
            // Progress: layer i/N counts the hidden states the forward pass has produced (the model asks about each
            // point once or twice, so distinct names are counted).
            var progress = context.UnitProgress;
            progress?.Phase("layer", net.Architecture.CapturePoints(net.Config).Count(p => p.Kind == CaptureKind.HiddenState));
            var statesSeen = new HashSet<string>(StringComparer.Ordinal);
            bool Wanted(CapturePoint point)
            {
                if (point.Kind == CaptureKind.HiddenState && statesSeen.Add(point.Name)) progress?.StepDone();
                return Selected(point) || forAttention?.Invoke(point) == true;
            }
            using (context.Torch.Enter())
                if (experiment.Extract.Batch > 1 && net.Architecture.SupportsBatches)
                    BatchedExtract.Run(context, experiment, model, text, net, tokenizer, Wanted, Store);
                else
                {
                    using var capture = new ActivationCapture(Wanted, (point, value) => Store(point, Blocks(value)));
                    using (no_grad()) net.Run(ModelInputs.ForText(net, tokens.Ids), capture);
                }
            writer.SetMetadata(StoreKeys.Points, StoredPoints.Serialize(extracted));
            attentionWriter?.SetMetadata(StoreKeys.Points, StoredPoints.Serialize(forMetric));
            if (extracted.Count == 0)
                throw new ConfigException(experiment.Extract.LayersAt ?? text.At,
                    $"extract.points {JsonSerializer.Serialize(experiment.Extract.Points)} selects nothing for model '{model.Key}' ({net.ModelType}); use names like hidden_states.* or module paths");
            writer.CommitAsync().GetAwaiter().GetResult();
            attentionWriter?.CommitAsync().GetAwaiter().GetResult();
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            attentionWriter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return attentionWriter is null ? [OutputPath] : [OutputPath, AttentionInputsPath];
    }

    /// <summary>Splits a captured tensor of one text into [rows, cols] blocks: [1,T,D] → one; [1,H,T,T] → one per head.</summary>
    internal static IEnumerable<PointBlock> Blocks(Tensor t)
    {
        var x = t.to(ScalarType.Float32).contiguous();
        switch (x.dim())
        {
            case 4:
                for (var h = 0; h < x.shape[1]; h++)
                    yield return new(h, NativeTensor.ToFloatArray(x[0, h]), (int)x.shape[2], (int)x.shape[3]);
                break;
            case 3:
                yield return new(null, NativeTensor.ToFloatArray(x[0]), (int)x.shape[1], (int)x.shape[2]);
                break;
            case 2:
                yield return new(null, NativeTensor.ToFloatArray(x), (int)x.shape[0], (int)x.shape[1]);
                break;
            default:
                yield return new(null, NativeTensor.ToFloatArray(x.flatten()), 1, (int)x.NumberOfElements);
                break;
        }
    }
}

/// <summary>One [rows, cols] block of a captured tensor as a store holds it (a head's map, or a text's [tokens, features]).</summary>
internal sealed record PointBlock(int? Head, float[] Values, int Rows, int Cols);
