using System.Text.Json;
using Tta.Store;
using Tta.Explorer;
using Tta.Extract;
using Tta.Figures;

namespace Tta.Metrics.Attention;

/// <summary>The explorer's heads × panels grids and kernels of attention.parquet.</summary>
public static class AttentionView
{
    /// <summary>One block at a time: a head's panels are quantised as they come, so memory holds one map.</summary>
    public static void Add(ExplorerSet set, string parquet)
    {
        using var store = VectorStoreReader.Open(parquet); // one footer read for the metadata and the blocks
        var (metadata, points) = (store.Metadata, store.Points);
        var kernelRows = metadata.TryGetValue(StoreKeys.KernelRows, out var json)
            ? JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? []
            : [];
        var maskThreshold = MaskedValues.Threshold(StoreKeys.ComputeDTypeOf(metadata)); // the static figures' rule
        var measures = AttentionFigures.Panels.Select(p => p.Measure).ToHashSet(StringComparer.Ordinal);
        var heads = new Dictionary<ActivationPoint, (SortedDictionary<string, int> Panels, List<float[]> Kernel, bool ZeroBias)>();
        Task.Run(() => store.ForEachBlockAsync(block =>
        {
            var key = block.Key with { Measure = null };
            if (!heads.TryGetValue(key, out var head)) heads[key] = head = (new(StringComparer.Ordinal), [], false);
            var measure = block.Key.Measure ?? "";
            // As the static figures: a bias that is zero everywhere (T5 cross-attention) is no position bias.
            if (measure == "position_bias" && block.Values.All(v => v == 0)) heads[key] = head with { ZeroBias = true };
            else if (measure == "kernel") head.Kernel.Add(block.Values);
            else if (measures.Contains(measure)) head.Panels[measure] = set.Add(QuantizedMap.From(block.Values, block.Positions, block.Dim, maskThreshold));
            return Task.CompletedTask;
        })).GetAwaiter().GetResult();
        foreach (var (key, head) in heads.OrderBy(h => Depth.StackOrder(h.Key.Stack)).ThenBy(h => h.Key.Layer)
                     .ThenBy(h => h.Key.Point, StringComparer.Ordinal).ThenBy(h => h.Key.Head))
        {
            var kernel = !head.ZeroBias && head.Kernel.Count > 0 && kernelRows.TryGetValue(key.Point, out var row)
                ? new KernelEntry(row, head.Kernel[0])
                : null;
            set.Attention.Add(new AttentionEntry(key.Stack, key.Point, key.Layer, key.Head ?? 0, LayerNames.AttentionModule(key),
                points[key with { Head = null }].Cross, head.Panels, kernel));
        }
    }
}
