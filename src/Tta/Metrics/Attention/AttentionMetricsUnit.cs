using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Models;
using Tta.Store;

namespace Tta.Metrics.Attention;

/// <summary>
/// Attention decomposition into attention.parquet (store layout with a measure column): per attention module of the
/// chosen blocks and per chosen head, blocks <c>qk</c>, <c>position_bias</c> (T5), <c>scores</c>, <c>probs</c>
/// ([queries, keys], point = module path, layer = block) and <c>kernel</c> (one row: the bias of query row r over
/// key positions j, i.e. relative position j − r; r is in metadata <c>tta.kernel_rows</c>, a JSON object
/// path → r). Its input is the attention captures the Extract pass stored for these blocks
/// (attention-inputs.parquet), so no model is loaded here.
/// </summary>
public sealed class AttentionMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, AttentionKind.Key)
{
    public const string CodeVersion = "attention-2";

    public override UnitDeclaration Declare() =>
        new UnitDeclaration(CodeVersion)
            .Reads(Upstream, ExtractStage.AttentionInputsFile)
            .Section("metrics.attention", Experiment.Metrics.Get<AttentionMetricSpec>(AttentionKind.Key))
            .Writes(OutputPath);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var spec = Experiment.Metrics.Get<AttentionMetricSpec>(AttentionKind.Key)!;
        var fingerprint = Fingerprint().Value;
        var inputs = Upstream.AttentionInputsPath;
        var (metadata, blocks) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(inputs));
        var config = JsonNode.Parse(metadata[StoreKeys.Config])!.AsObject();
        var architecture = ModelFactory.For(config, Path.GetDirectoryName(inputs)!);
        using var capture = AttentionDecomposition.FromStore(blocks, StoredPoints.Read(metadata, inputs));
        blocks = [];
        var parts = AttentionDecomposition.Decompose(capture, architecture, config);
        foreach (var layer in spec.Layers.Where(l => parts.All(p => p.Layer != l)))
            throw new ConfigException(spec.At,
                $"metrics.attention: model '{Model.Key}' has no attention module in block {layer}; it has blocks {string.Join(", ", parts.Select(p => p.Layer).Distinct())} among those asked for — use blocks 0..{architecture.LayerCount(config) - 1}");
        var kernelRows = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in parts.Where(p => p.PositionBias is not null))
            kernelRows[p.Path] = AttentionDecomposition.KernelRow((int)p.Scores.shape[1], p.Causal);
        var stored = metadata.Where(kv => kv.Key is not (StoreKeys.ModelType or StoreKeys.Stacks or StoreKeys.Config)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var meta = MetricsStage.Metadata(stored, "attention/1", fingerprint);
        meta[StoreKeys.KernelRows] = JsonSerializer.Serialize(kernelRows);
        // This file's points are the attention modules themselves.
        meta[StoreKeys.Points] = StoredPoints.Serialize(parts.Select(p =>
            new CapturePoint(p.Path, p.Path, p.Stack, p.Layer, CaptureKind.Module, Cross: p.Cross)));

        return WriteOutput(async () =>
        {
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
            foreach (var p in parts)
            {
                var heads = spec.HeadsFor(p.Stack) ?? Enumerable.Range(0, (int)p.Heads).ToList();
                var bad = heads.FirstOrDefault(h => h >= p.Heads, -1);
                if (bad >= 0)
                    throw new ConfigException(spec.At, $"metrics.attention: head {bad} out of range for {p.Path} of model '{Model.Key}', which has {p.Heads} heads — use heads 0..{p.Heads - 1}");
                var (tq, tk) = ((int)p.Scores.shape[1], (int)p.Scores.shape[2]);
                foreach (var h in heads)
                {
                    if (p.Qk is not null)
                    {
                        using var qk = p.Qk(h);
                        await writer.WriteAsync(AttentionDecomposition.Key(p, h, "qk"), Floats(qk), tq, tk);
                    }
                    if (p.PositionBias is { } bias)
                    {
                        await writer.WriteAsync(AttentionDecomposition.Key(p, h, "position_bias"), Floats(bias[h]), tq, tk);
                        await writer.WriteAsync(AttentionDecomposition.Key(p, h, "kernel"), Floats(bias[h, kernelRows[p.Path]]), 1, tk);
                    }
                    await writer.WriteAsync(AttentionDecomposition.Key(p, h, "scores"), Floats(p.Scores[h]), tq, tk);
                    await writer.WriteAsync(AttentionDecomposition.Key(p, h, "probs"), Floats(p.Probs[h]), tq, tk);
                }
            }
            await writer.CommitAsync();
        });
    }

    private static float[] Floats(TorchSharp.torch.Tensor t)
    {
        using var c = t.contiguous();
        return NativeTensor.ToFloatArray(c);
    }
}
