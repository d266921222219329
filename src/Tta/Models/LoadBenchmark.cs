using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>One load measured by <see cref="LoadBenchmark"/>; sizes in bytes.</summary>
public sealed record LoadMeasurement(long FileBytes, long BaselineRss, long PeakRss, long RssAfter, double Seconds,
    bool PeakMeasured, bool ColdCache)
{
    /// <summary>Peak resident memory the load added, per byte of checkpoint (goal: at most 1.2).</summary>
    public double PeakOverFile => (double)(PeakRss - BaselineRss) / FileBytes;
    public double GigabytesPerSecond => FileBytes / 1e9 / Seconds;

    public override string ToString()
    {
        var cache = ColdCache ? "cold page cache" : "warm page cache";
        var peak = PeakMeasured
            ? FormattableString.Invariant($"peak RSS {(PeakRss - BaselineRss) / 1e9:f3} GB above a {BaselineRss / 1e9:f3} GB baseline = {PeakOverFile:f3} x file size")
            : "peak RSS not measurable here (no /proc/self/clear_refs)";
        return FormattableString.Invariant(
            $"{cache}: {FileBytes / 1e9:f3} GB in {Seconds:f2} s = {GigabytesPerSecond:f2} GB/s; {peak}; RSS after load +{(RssAfter - BaselineRss) / 1e9:f3} GB");
    }
}

/// <summary>
/// Checkpoint loading benchmark (not a test): writes a synthetic Llama-shaped bfloat16 safetensors checkpoint of at
/// least the requested size, loads it through <see cref="ModelFactory"/> in bfloat16 and reports the peak resident
/// memory the load added per byte of checkpoint (VmHWM after the load minus VmRSS before it, the peak being reset via
/// /proc/self/clear_refs) and the load throughput, once with the file evicted from the page cache and once warm.
/// </summary>
public static partial class LoadBenchmark
{
    public static void Run(TextWriter log, string workDir, long bytes = 1L << 30)
    {
        var sw = Stopwatch.StartNew();
        var dir = WriteSyntheticLlama(workDir, bytes);
        var file = new FileInfo(Path.Combine(dir, "model.safetensors")).Length;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load benchmark: wrote {dir} ({file / 1e9:f3} GB, bf16) in {sw.Elapsed.TotalSeconds:f1} s"));
        var cold = Measure(dir, evictPageCache: true);
        log.WriteLine("load benchmark: " + cold);
        var warm = Measure(dir, evictPageCache: false);
        log.WriteLine("load benchmark: " + warm);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load benchmark: peak RSS / file size = {Math.Max(cold.PeakOverFile, warm.PeakOverFile):f3} (goal <= 1.2)"));
    }

    /// <summary>Loads the checkpoint in <paramref name="dir"/> once in bfloat16, measuring time and resident memory.</summary>
    public static LoadMeasurement Measure(string dir, bool evictPageCache)
    {
        var weights = Path.Combine(dir, "model.safetensors");
        var fileBytes = new FileInfo(weights).Length;
        var cold = evictPageCache && Evict(weights);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        TrimHeap(); // return freed native memory to the system, so the baseline holds no reusable pages
        var reset = ResetPeakRss();
        var baseline = Status("VmRSS");
        var peakBefore = Status("VmHWM");
        var sw = Stopwatch.StartNew();
        long peak, after;
        double seconds;
        using (var model = ModelFactory.Load(dir, ScalarType.BFloat16))
        {
            seconds = sw.Elapsed.TotalSeconds;
            peak = Status("VmHWM");
            after = Status("VmRSS");
        }
        // Without a reset the high-water mark may predate the load; it is meaningful only if it was at the baseline.
        var measured = reset || peakBefore <= baseline;
        return new LoadMeasurement(fileBytes, baseline, peak, after, seconds, measured, cold);
    }

    /// <summary>
    /// Writes config.json and a model.safetensors of a Llama-shaped model (GQA, SwiGLU, untied head) of at least
    /// <paramref name="bytes"/> bytes in bfloat16, tensor by tensor in bounded chunks; returns the directory.
    /// </summary>
    public static string WriteSyntheticLlama(string workDir, long bytes)
    {
        const long vocab = 32000;
        long hidden = 2048;
        while (hidden > 128 && 2 * vocab * hidden * 2 > bytes / 4) hidden /= 2;
        var headDim = 64L;
        var heads = hidden / headDim;
        var kvHeads = Math.Max(1, heads / 4);
        var intermediate = (hidden * 11 / 4 + 63) / 64 * 64;
        var perLayer = 2 * (hidden * hidden * 2 + hidden * kvHeads * headDim * 2 + 3 * hidden * intermediate + 2 * hidden);
        var embeddings = 2 * (2 * vocab * hidden + hidden);
        var layers = Math.Max(1, (bytes - embeddings + perLayer - 1) / perLayer);

        var dir = Path.Combine(workDir, $"llama-synthetic-{bytes}");
        Directory.CreateDirectory(dir);
        var config = new JsonObject
        {
            ["model_type"] = "llama",
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["hidden_size"] = hidden,
            ["intermediate_size"] = intermediate,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kvHeads,
            ["head_dim"] = headDim,
            ["vocab_size"] = vocab,
            ["max_position_embeddings"] = 4096,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = false,
            ["hidden_act"] = "silu",
            ["torch_dtype"] = "bfloat16",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToIndentedJson());

        var tensors = new List<(string Name, long[] Shape, bool Ones)> { ("model.embed_tokens.weight", [vocab, hidden], false) };
        for (var i = 0; i < layers; i++)
        {
            var p = $"model.layers.{i}.";
            tensors.Add((p + "input_layernorm.weight", [hidden], true));
            tensors.Add((p + "self_attn.q_proj.weight", [heads * headDim, hidden], false));
            tensors.Add((p + "self_attn.k_proj.weight", [kvHeads * headDim, hidden], false));
            tensors.Add((p + "self_attn.v_proj.weight", [kvHeads * headDim, hidden], false));
            tensors.Add((p + "self_attn.o_proj.weight", [hidden, heads * headDim], false));
            tensors.Add((p + "post_attention_layernorm.weight", [hidden], true));
            tensors.Add((p + "mlp.gate_proj.weight", [intermediate, hidden], false));
            tensors.Add((p + "mlp.up_proj.weight", [intermediate, hidden], false));
            tensors.Add((p + "mlp.down_proj.weight", [hidden, intermediate], false));
        }
        tensors.Add(("model.norm.weight", [hidden], true));
        tensors.Add(("lm_head.weight", [vocab, hidden], false));

        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape, _) in tensors)
        {
            var n = shape.Aggregate(1L, (a, b) => a * b) * 2;
            header[name] = new JsonObject
            {
                ["dtype"] = "BF16",
                ["shape"] = new JsonArray(shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + n),
            };
            offset += n;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = new byte[(headerBytes.Length + 7) / 8 * 8];
        Array.Fill(padded, (byte)' ');
        headerBytes.CopyTo(padded, 0);
        var path = Path.Combine(dir, "model.safetensors");
        Cache.AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((long)padded.Length));
            stream.Write(padded);
            // One chunk of N(0, 0.02) values, written over and over: the loader's work does not depend on the values.
            using var generator = new Generator(1234);
            using var random = (randn(StoredTensor.ChunkElements, generator: generator) * 0.02).to_type(ScalarType.BFloat16);
            using var unit = ones(StoredTensor.ChunkElements, ScalarType.BFloat16);
            var randomBytes = random.bytes.ToArray();
            var unitBytes = unit.bytes.ToArray();
            foreach (var (_, shape, isOnes) in tensors)
            {
                var count = shape.Aggregate(1L, (a, b) => a * b);
                for (long start = 0; start < count; start += StoredTensor.ChunkElements)
                {
                    var n = (int)Math.Min(StoredTensor.ChunkElements, count - start);
                    stream.Write(isOnes ? unitBytes : randomBytes, 0, 2 * n);
                }
            }
        });
        return dir;
    }

    private static long Status(string field)
    {
        if (!File.Exists("/proc/self/status")) return 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }

    /// <summary>Resets VmHWM to the current RSS (Linux: "5" to /proc/self/clear_refs).</summary>
    private static bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Drops the file's clean pages from the page cache (posix_fadvise DONTNEED); false where unavailable.</summary>
    private static bool Evict(string path)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            return PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, 4) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException)
        {
            return false;
        }
    }

    private static void TrimHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc: the baseline may include freed pages, which only lowers the reported ratio
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);
}
