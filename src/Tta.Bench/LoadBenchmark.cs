using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
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
/// Checkpoint loading benchmark (not a test). For each checkpoint — a Flan-T5-xl-shaped float32 one in two shards
/// (11.4 GB at full depth) loaded as float32, and a Llama-shaped bfloat16 one loaded as bfloat16 — it measures
/// <c>cat</c> of the same weight files to /dev/null (the baseline: what the disk and the page cache give one reader),
/// then tta's load through <see cref="ModelFactory"/>, each with the files evicted from the page cache (cold) and then
/// warm, and prints tta's throughput over cat's (goal: at least 0.8) and the peak resident memory the load added per
/// byte of checkpoint (VmHWM after the load minus VmRSS before it, the peak reset via /proc/self/clear_refs; mapped
/// file pages count, as they are resident).
/// </summary>
public static partial class LoadBenchmark
{
    /// <param name="bf16Bytes">size of the bfloat16 checkpoint.</param>
    /// <param name="xlLayers">blocks per stack of the Flan-T5-xl shape (null: its 24, 11.4 GB; 0: leave that case out).</param>
    public static void Run(TextWriter log, string workDir, long bf16Bytes = 1L << 30, int? xlLayers = null)
    {
        var cases = new List<(string Name, Func<string> Write, ScalarType DType)>();
        if (xlLayers is not 0)
            cases.Add(("Flan-T5-xl shape, float32, 2 shards", () => WriteSyntheticFlanT5Xl(workDir, xlLayers), ScalarType.Float32));
        cases.Add(("Llama shape, bfloat16", () => WriteSyntheticLlama(workDir, bf16Bytes), ScalarType.BFloat16));
        var worst = 0.0;
        using (zeros(1)) { } // start libtorch first, so the first load's baseline already holds it
        foreach (var (name, write, dtype) in cases)
        {
            var sw = Stopwatch.StartNew();
            var dir = write();
            var files = WeightFiles(dir);
            var bytes = files.Sum(f => new FileInfo(f).Length);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load benchmark: {name}: wrote {dir} ({bytes / 1e9:f3} GB in {files.Count} file(s)) in {sw.Elapsed.TotalSeconds:f1} s"));
            foreach (var cold in new[] { true, false })
            {
                var catSeconds = Cat(files, cold, out var catResident);
                var tta = Measure(dir, cold, dtype);
                var catRate = bytes / 1e9 / catSeconds;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"load benchmark: {name}: tta {tta}"));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"load benchmark: {name}: {(cold ? "cold" : "warm")}: tta {tta.GigabytesPerSecond:f2} GB/s vs cat {catRate:f2} GB/s ({catSeconds:f2} s{(cold ? $", {catResident:P0} of the files in the page cache before it" : "")}) = {tta.GigabytesPerSecond / catRate:f2} x cat (goal >= 0.8)"));
                if (tta.PeakMeasured) worst = Math.Max(worst, tta.PeakOverFile);
            }
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load benchmark: peak RSS / file size = {worst:f3} (goal <= 1.2)"));
    }

    /// <summary>The weight files of a checkpoint directory (safetensors shards or one file).</summary>
    public static List<string> WeightFiles(string dir) =>
        [.. Directory.GetFiles(dir, "*.safetensors").Order(StringComparer.Ordinal)];

    /// <summary>Seconds <c>cat</c> takes to read <paramref name="files"/> to /dev/null (after evicting them when cold).</summary>
    private static double Cat(IReadOnlyList<string> files, bool cold, out double residentBefore)
    {
        if (cold) Evict(files);
        residentBefore = ResidentFraction(files);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in new[] { "-c", "exec cat \"$@\" > /dev/null", "sh" }.Concat(files)) start.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var cat = Process.Start(start) ?? throw new InvalidOperationException("cannot start cat");
        cat.WaitForExit();
        if (cat.ExitCode != 0) throw new InvalidOperationException($"cat exited with {cat.ExitCode}");
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>Loads the checkpoint in <paramref name="dir"/> once in <paramref name="dtype"/>, measuring time and resident memory.</summary>
    public static LoadMeasurement Measure(string dir, bool evictPageCache, ScalarType dtype = ScalarType.BFloat16)
    {
        var files = WeightFiles(dir);
        var fileBytes = files.Sum(f => new FileInfo(f).Length);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        TrimHeap(); // return freed native memory to the system, so the baseline holds no reusable pages
        var cold = evictPageCache && Evict(files);
        var reset = ProcessMemory.ResetPeak();
        var baseline = ProcessMemory.Resident;
        var peakBefore = ProcessMemory.Peak;
        var sw = Stopwatch.StartNew();
        long peak, after;
        double seconds;
        using (var model = ModelFactory.Load(dir, dtype))
        {
            seconds = sw.Elapsed.TotalSeconds;
            peak = ProcessMemory.Peak;
            after = ProcessMemory.Resident;
        }
        // Without a reset the high-water mark may predate the load; it is meaningful only if it was at the baseline.
        var measured = reset || peakBefore <= baseline;
        return new LoadMeasurement(fileBytes, baseline, peak, after, seconds, measured, cold);
    }

    /// <summary>A Flan-T5-xl-shaped float32 checkpoint in two shards (11.4 GB at its full 24 blocks per stack).</summary>
    public static string WriteSyntheticFlanT5Xl(string workDir, int? layers)
    {
        var dir = Path.Combine(workDir, $"flan-t5-xl-synthetic-{layers?.ToString(CultureInfo.InvariantCulture) ?? "full"}");
        if (!File.Exists(Path.Combine(dir, "model.safetensors.index.json")))
            SyntheticCheckpoint.Write(dir, "flan-t5-xl", ScalarType.Float32, layers: layers, shards: 2);
        return dir;
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

    /// <summary>
    /// Drops the files' pages from the page cache (written back first, then posix_fadvise DONTNEED); false where
    /// unavailable. Pages a process still maps stay (<see cref="ResidentFraction"/> shows what remained).
    /// </summary>
    private static bool Evict(IEnumerable<string> files)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            foreach (var path in files)
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
                var fd = (int)handle.DangerousGetHandle();
                if (Fsync(fd) != 0 || PosixFadvise(fd, 0, 0, 4) != 0) return false;
            }
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException)
        {
            return false;
        }
    }

    /// <summary>The fraction of the files' pages in the page cache (mincore over a fresh mapping), or NaN.</summary>
    private static unsafe double ResidentFraction(IEnumerable<string> files)
    {
        if (!OperatingSystem.IsLinux()) return double.NaN;
        long pages = 0, resident = 0;
        var pageSize = Environment.SystemPageSize;
        foreach (var path in files)
        {
            var length = new FileInfo(path).Length;
            if (length == 0) continue;
            using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            try
            {
                var count = (length + pageSize - 1) / pageSize;
                var flags = new byte[count];
                fixed (byte* f = flags)
                    if (Mincore((nint)(p + view.PointerOffset) & ~(nint)(pageSize - 1), (nuint)length, f) != 0) return double.NaN;
                pages += count;
                resident += flags.Count(b => (b & 1) != 0);
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        return pages == 0 ? double.NaN : (double)resident / pages;
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

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "mincore")]
    private static unsafe partial int Mincore(nint address, nuint length, byte* vector);
}
