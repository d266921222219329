using System.Globalization;
using Tta.Bench;
using Xunit.Abstractions;

namespace Tta.Tests.Bench;

/// <summary>Measures resident memory, so it runs alone (no other test allocating at the same time).</summary>
[CollectionDefinition(nameof(LoadBenchmarkCollection), DisableParallelization = true)]
public sealed class LoadBenchmarkCollection;

/// <summary>
/// The load benchmark on a small synthetic checkpoint: loading in bfloat16 keeps the checkpoint resident once (no
/// transient whole-model copy). No timing is asserted. TTA_LOAD_BENCHMARK_BYTES runs it at another size (the
/// reported numbers use 1 GiB).
/// </summary>
[Trait("Lane", "Full")]
[Collection(nameof(LoadBenchmarkCollection))]
public class LoadBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void LoadingAddsAboutOneCheckpointOfResidentMemory()
    {
        var bytes = Environment.GetEnvironmentVariable("TTA_LOAD_BENCHMARK_BYTES") is { Length: > 0 } s
            ? long.Parse(s, CultureInfo.InvariantCulture) : 160L << 20;
        var work = Repo.TempDir();
        try
        {
            var log = new StringWriter();
            LoadBenchmark.Run(log, work, bytes);
            output.WriteLine(log.ToString());
            Assert.Contains("peak RSS / file size", log.ToString());

            var dir = Directory.GetDirectories(work).Single();
            Assert.True(new FileInfo(Path.Combine(dir, "model.safetensors")).Length >= bytes);
            var m = LoadBenchmark.Measure(dir, evictPageCache: false);
            output.WriteLine(m.ToString());
            // the parameters are really resident after the load ...
            Assert.True(m.RssAfter - m.BaselineRss >= 0.8 * m.FileBytes, m.ToString());
            // ... and the load never held much more than them
            if (m.PeakMeasured) Assert.True(m.PeakOverFile <= 1.25, m.ToString());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
