using System.Diagnostics;
using System.Globalization;
using Tta.Metrics.Similarity;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Bench;

/// <summary>
/// Throughput of the activation store and the similarity maps, each beside a bare baseline measured in the same run
/// on the same machine: store write vs a plain sequential write of the same bytes to the same disk (goal ≥ 50%),
/// store read, and similarity maps of every point vs a bare TorchSharp matmul XXᵀ of the same shapes (goal ≤ 1.3×).
/// MB are 10⁶ bytes of float32 payload (points × positions × dim × 4). Not a test: timings depend on the machine.
/// </summary>
public static class StoreBenchmark
{
    public static void Run(TextWriter log, string workDir, int points = 33, int positions = 512, int dim = 4544)
    {
        ArgumentNullException.ThrowIfNull(log);
        Directory.CreateDirectory(workDir);
        var dir = Path.Combine(workDir, $"tta-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            RunIn(log, dir, points, positions, dim);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Best(Action run)
    {
        var best = double.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var w = Stopwatch.StartNew();
            run();
            best = Math.Min(best, w.Elapsed.TotalSeconds);
        }
        return best;
    }

    private static void RunIn(TextWriter log, string dir, int points, int positions, int dim)
    {
        string F(double x) => x.ToString("0.0", CultureInfo.InvariantCulture);
        var blocks = new List<float[]>();
        var rng = new Random(1234);
        for (var p = 0; p < points; p++)
        {
            // Activation-like values: Gaussian-ish, a few large outlier dimensions, not compressible bit patterns.
            var v = new float[positions * dim];
            for (var i = 0; i < v.Length; i++) v[i] = (float)((rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5) * (i % dim < 4 ? 50 : 1));
            blocks.Add(v);
        }
        var bytes = (double)points * positions * dim * sizeof(float);
        var mb = bytes / 1e6;
        log.WriteLine($"store benchmark: {points} points × {positions} positions × {dim} dims = {F(mb)} MB float32, in {dir}");

        // Plain sequential write of the same payload (one FileStream, 1 MiB buffer, flushed to disk) against the store
        // (one row group per point, flushed and renamed into place); best of 3 each, alternating, since the page
        // cache and other processes make single timings noisy.
        var plainPath = Path.Combine(dir, "plain.bin");
        var storePath = Path.Combine(dir, "activations.parquet");
        double plainSeconds = double.MaxValue, storeSeconds = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            File.Delete(plainPath);
            File.Delete(storePath);
            var watch = Stopwatch.StartNew();
            using (var s = new FileStream(plainPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                foreach (var b in blocks) s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()));
                s.Flush(flushToDisk: true);
            }
            plainSeconds = Math.Min(plainSeconds, watch.Elapsed.TotalSeconds);
            watch.Restart();
            Task.Run(async () =>
            {
                await using var writer = await VectorStoreWriter.CreateAsync(storePath, new Dictionary<string, string> { [StoreKeys.Format] = "bench" });
                for (var p = 0; p < points; p++)
                    await writer.WriteAsync(new ActivationPoint($"hidden_states.{p}", "decoder-only", p), blocks[p], positions, dim);
                await writer.CommitAsync();
            }).GetAwaiter().GetResult();
            storeSeconds = Math.Min(storeSeconds, watch.Elapsed.TotalSeconds);
        }
        File.Delete(plainPath);
        var fileMb = new FileInfo(storePath).Length / 1e6;
        log.WriteLine($"write (best of 3): store {F(mb / storeSeconds)} MB/s ({storeSeconds:0.00} s, file {F(fileMb)} MB), plain sequential {F(mb / plainSeconds)} MB/s ({plainSeconds:0.00} s) → store/plain {100 * plainSeconds / storeSeconds:0}% (goal ≥ 50%)");

        var readWatch = Stopwatch.StartNew();
        var read = Task.Run(() => VectorStoreReader.ReadAsync(storePath)).GetAwaiter().GetResult().Blocks;
        var readSeconds = readWatch.Elapsed.TotalSeconds;
        if (read.Count != points || !read[^1].Values.AsSpan().SequenceEqual(blocks[^1]))
            throw new InvalidDataException("benchmark: the store did not read back what was written");
        log.WriteLine($"read: store {F(mb / readSeconds)} MB/s ({readSeconds:0.00} s)");

        // Similarity maps of every point (cosine and dot from one Gram matrix, as the Metrics stage computes them)
        // vs one bare matmul XXᵀ per point; each timing is the best of 3 after a warm-up (other processes may share
        // the cores).
        _ = SimilarityMap.ComputeAll(read[0].Values, positions, dim, SimilarityMap.Measures);
        var mapSeconds = Best(() =>
        {
            foreach (var b in read) _ = SimilarityMap.ComputeAll(b.Values, positions, dim, SimilarityMap.Measures);
        });
        var bare = new Dictionary<ScalarType, double>();
        foreach (var dtype in new[] { ScalarType.Float32 })
        {
            using var scope = NewDisposeScope();
            var xs = read.Select(b => tensor(b.Values, [positions, dim]).to(dtype)).ToList(); // inputs ready, not timed
            bare[dtype] = Best(() =>
            {
                foreach (var x in xs) x.matmul(x.t()).Dispose();
            });
        }
        log.WriteLine($"similarity maps (cosine + dot, float32): {mapSeconds:0.00} s; bare matmul float32 {bare[ScalarType.Float32]:0.00} s → {mapSeconds / bare[ScalarType.Float32]:0.00}× (goal ≤ 1.3×)");
    }
}
