using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Tta.Models;
using Tta.Core;
using static TorchSharp.torch;

namespace Tta.Bench;

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
        var reset = ProcessMemory.ResetPeak();
        var baseline = ProcessMemory.Resident;
        var peakBefore = ProcessMemory.Peak;
        var sw = Stopwatch.StartNew();
        long peak, after;
        double seconds;
        using (var model = ModelFactory.Load(dir, ScalarType.BFloat16))
        {
            seconds = sw.Elapsed.TotalSeconds;
            peak = ProcessMemory.Peak;
            after = ProcessMemory.Resident;
        }
        // Without a reset the high-water mark may predate the load; it is meaningful only if it was at the baseline.
        var measured = reset || peakBefore <= baseline;
        return new LoadMeasurement(fileBytes, baseline, peak, after, seconds, measured, cold);
    }

    /// <summary>
    /// Writes a reduced-depth TinyLlama-shaped checkpoint (real widths: GQA, SwiGLU, untied head) of at least
    /// <paramref name="bytes"/> bytes in bfloat16, as one model.safetensors (<see cref="SyntheticCheckpoint"/>);
    /// returns the directory.
    /// </summary>
    public static string WriteSyntheticLlama(string workDir, long bytes)
    {
        var dir = Path.Combine(workDir, $"llama-synthetic-{bytes}");
        var shape = SyntheticShape.Named("tinyllama-1.1b");
        var config = shape.Config;
        config["num_hidden_layers"] = 1;
        var layout = Llama.Facts(config).Layout;
        var oneLayer = (long)layout.ParameterCount * 2;
        var perLayer = (long)layout.Blocks[0].Template.Sum(t => t.Elements) * 2;
        var layers = (int)Math.Max(1, 1 + (bytes - oneLayer + perLayer - 1) / perLayer);
        SyntheticCheckpoint.Write(dir, "tinyllama-1.1b", ScalarType.BFloat16, layers: layers, shards: 1);
        return dir;
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
