using System.Globalization;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// How much memory running a checkpoint will take, printed before the model is loaded so that a model that cannot
/// fit is refused with the numbers instead of being killed by the OS half way through.
/// Weights: every stored tensor at the requested dtype (read from the file headers, nothing is loaded).
/// Activations: the working set of one forward pass over <c>tokens</c> positions (a few hidden-size and
/// feed-forward-size buffers and the attention maps of a layer, twice over for temporaries), the largest single
/// captured tensor (Extract streams captures to disk one at a time), and the attention maps the attention metrics
/// keep (scores, probabilities and bias per head, for each requested block and attention module).
/// </summary>
public sealed record MemoryEstimate(long WeightBytes, long ActivationBytes, long? AvailableBytes)
{
    public long TotalBytes => WeightBytes + ActivationBytes;

    public bool Fits => AvailableBytes is not { } a || TotalBytes <= a;

    public override string ToString() =>
        $"about {Gib(TotalBytes)} (weights {Gib(WeightBytes)} + activations {Gib(ActivationBytes)})" +
        (AvailableBytes is { } a ? $", {Gib(a)} available" : "");

    public static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB";

    public static MemoryEstimate For(string checkpointDir, ScalarType dtype, int tokens, int attentionBlocks = 0, long? availableOverride = null)
    {
        using var checkpoint = new Checkpoint(checkpointDir);
        var element = SafetensorsFile.ElementSize(dtype);
        var weights = checkpoint.TensorNames.Sum(n => checkpoint.Entry(n).Shape.Aggregate(1L, (a, b) => a * b)) * element;
        var c = checkpoint.Config;
        long hidden = c.Int("hidden_size", c.Int("d_model", c.Int("n_embd", 0)));
        long ff = c.Int("intermediate_size", c.Int("d_ff", c.Int("n_inner", (int)(4 * hidden))));
        long heads = c.Int("num_attention_heads", c.Int("num_heads", c.Int("n_head", 1)));
        long t = Math.Max(1, tokens);
        var attentionMap = heads * t * t;
        // One layer: ~8 hidden-size and 2 feed-forward-size buffers, 3 attention maps (scores, probs, bias).
        var perLayer = (8 * t * hidden + 2 * t * ff + 3 * attentionMap) * element;
        var largestCapture = Math.Max(t * Math.Max(hidden, ff), attentionMap) * sizeof(float);
        // Attention metrics keep scores, probs and bias of up to 3 attention modules per block (T5 decoder: self + cross).
        var attentionKept = attentionBlocks * 3L * 3L * attentionMap * sizeof(float);
        return new MemoryEstimate(weights, 2 * perLayer + largestCapture + attentionKept, availableOverride ?? Available());
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
