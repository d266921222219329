using System.Globalization;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// How much memory running a checkpoint will take, printed before the model is loaded so that a model that cannot fit
/// is refused with the numbers instead of being killed by the OS half way through. Everything comes from the config
/// (<see cref="ModelFacts"/>: the architecture's own layer count and sizes), nothing is allocated:
/// <list type="bullet">
/// <item>weights: every parameter the config describes, in the load dtype;</item>
/// <item>activations (the working set and the captures below) in the compute dtype, and where that differs from the
/// load dtype the largest weight converted to it at once (<see cref="UpcastBytes"/>: each op converts the weight it
/// uses and frees the copy right after, a linear map in chunks of <see cref="ComputeWeights.ChunkElements"/>);</item>
/// <item>one block's working set at <c>tokens</c> positions: every intermediate a block allocates (each block runs in
/// its own dispose scope, so only one block's intermediates live at a time), its attention maps included (scores and
/// probabilities per query head, a float32 softmax where the model computes one, query/key/value, repeated key/value
/// heads, the feed-forward buffers), plus what lives across blocks (running hidden state, masks, T5's position
/// biases, the encoder output);</item>
/// <item>the largest capture: Extract streams captured tensors to its stores one at a time, each as a float32 copy,
/// its per-head blocks and the Parquet page buffers; the largest possible is one [heads, T, T] map or one
/// feed-forward activation;</item>
/// <item>the process itself: the .NET runtime and libtorch (<see cref="ProcessBytes"/>, measured).</item>
/// </list>
/// Bench (<c>--only=memory</c>) prints the estimate beside the measured peak RSS.
/// </summary>
public sealed record MemoryEstimate(double WeightBytes, double WorkingSetBytes, double CaptureBytes, long? AvailableBytes)
{
    /// <summary>Resident memory of tta-cli with libtorch loaded and no model (measured on Linux x64, .NET 10, TorchSharp 0.107).</summary>
    public const long ProcessBytes = 320L << 20;

    /// <summary>Weights converted to the compute dtype at once: the largest weight or chunk (0 when the model computes in its load dtype).</summary>
    public double UpcastBytes { get; init; }

    /// <summary>What one forward pass needs besides the weights (per concurrent run of the model).</summary>
    public double ActivationBytes => WorkingSetBytes + CaptureBytes + UpcastBytes;

    public double TotalBytes => WeightBytes + ActivationBytes + ProcessBytes;

    public bool Fits => AvailableBytes is not { } a || TotalBytes <= a;

    public override string ToString() =>
        $"about {Gib(TotalBytes)} (weights {Gib(WeightBytes)} + one block's working set {Gib(WorkingSetBytes)} + largest capture {Gib(CaptureBytes)}" +
        (UpcastBytes > 0 ? $" + weights upcast at once {Gib(UpcastBytes)}" : "") + $" + process {Gib(ProcessBytes)})" +
        (AvailableBytes is { } a ? $", {Gib(a)} available" : "");

    public static string Gib(double bytes)
    {
        var g = bytes / (1L << 30);
        return (g < 1e6 ? g.ToString("0.00", CultureInfo.InvariantCulture) : g.ToString("0.##E+0", CultureInfo.InvariantCulture)) + " GiB";
    }

    /// <summary>
    /// The estimate for checkpoint <paramref name="checkpointDir"/> loaded in <paramref name="dtype"/>, computing in
    /// <paramref name="compute"/> (<paramref name="dtype"/> when null), run on <paramref name="tokens"/> positions.
    /// </summary>
    public static MemoryEstimate For(string checkpointDir, ScalarType dtype, int tokens, long? availableOverride = null, ScalarType? compute = null)
    {
        using var checkpoint = new Checkpoint(checkpointDir);
        return For(ModelFactory.Facts(checkpoint.Config, checkpointDir), dtype, tokens, availableOverride ?? Available(), compute);
    }

    public static MemoryEstimate For(ModelFacts facts, ScalarType dtype, int tokens, long? available, ScalarType? compute = null)
    {
        double e = SafetensorsFile.ElementSize(compute ?? dtype);
        var a = facts.Activations;
        double t = Math.Max(1, tokens), d = a.Hidden, ff = a.FeedForward, hd = a.HeadDim;
        double q = a.Heads * hd, kv = a.KvHeads * hd;
        var map = a.Heads * t * t;                                               // one [heads, T, T] attention map

        // One attention module: q, k, v (and their head-split or rotated copies), key/value heads repeated to the
        // query heads, the scores and probabilities (plus a float32 softmax where the dtype is smaller), the context
        // and its merged and projected forms.
        var repeated = a.KvHeads < a.Heads ? 2 * q : 0;
        var softmax32 = a.SoftmaxInFloat32 && e < 4 ? map * 4 / e : 0;
        var attention = 2 * t * (q + 2 * kv) + t * repeated + 2 * map + softmax32 + 3 * t * q + 2 * t * d;
        // Feed-forward: up (and gate) projections and the activation, then the down projection.
        var feedForward = (a.GatedFeedForward ? 4 : 2) * t * ff + t * d;
        // Norms and residual sums around the modules.
        var residual = 4 * t * d * a.AttentionModulesPerBlock;
        var block = (a.AttentionModulesPerBlock * attention + feedForward + residual) * e;
        // Across blocks: the running hidden state and embeddings, the encoder output, the additive mask and T5-style
        // position biases kept for every block.
        var held = (3 * t * d + t * t + a.AttentionModulesPerBlock * map) * e + t * t;

        // Capture: a float32 copy of one tensor, its per-head blocks as managed arrays and the Parquet page buffers.
        var largest = Math.Max(map, t * Math.Max(ff, d)) * sizeof(float);
        var capture = 3 * largest;

        return new MemoryEstimate(facts.Layout.ParameterCount * SafetensorsFile.ElementSize(dtype), block + held, capture, available)
        {
            UpcastBytes = compute is { } c && c != dtype ? UpcastElements(facts.Layout) * e : 0,
        };
    }

    /// <summary>
    /// The most weight elements converted to the compute dtype at once: one tensor, a linear map's at most one chunk of
    /// <see cref="ComputeWeights.ChunkElements"/> (embedding tables convert only the rows they gather, fewer). GPT-2's
    /// Conv1D weights convert in chunks too; norms convert whole and are far below a chunk.
    /// </summary>
    private static double UpcastElements(CheckpointLayout layout) =>
        layout.Once.Concat(layout.After ?? []).Concat(layout.Blocks.SelectMany(b => b.Template))
            .Select(t => Math.Min(t.Elements, (double)ComputeWeights.ChunkElements)).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Refuses a model whose weights alone cannot fit in the memory this process can have, before any parameter is
    /// allocated (a config of 10⁸ layers is refused here, not by the OS after it grew past the machine).
    /// </summary>
    public static void RefuseIfWeightsCannotFit(string directory, ModelFacts facts, ScalarType dtype)
    {
        var weights = facts.Layout.ParameterCount * SafetensorsFile.ElementSize(dtype);
        if (Available() is { } available && weights + ProcessBytes > available)
            throw new InsufficientMemoryException(
                $"{Path.Combine(directory, "config.json")}: the config describes {facts.Layout.ParameterCount:0.###E+0} parameters over {facts.Blocks} blocks, " +
                $"{Gib(weights)} in {dtype}, more than the {Gib(available)} available; not loading it");
    }

    /// <summary>Memory this process can still use: MemAvailable, or less where a cgroup limit says so.</summary>
    public static long? Available()
    {
        long? available = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    available = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            var max = "/sys/fs/cgroup/memory.max";
            var current = "/sys/fs/cgroup/memory.current";
            if (File.Exists(max) && File.Exists(current) && long.TryParse(File.ReadAllText(max).Trim(), out var limit))
            {
                var free = limit - long.Parse(File.ReadAllText(current).Trim(), CultureInfo.InvariantCulture);
                available = available is { } a ? Math.Min(a, free) : free;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return available;
    }
}
