using Tta.Bench;
using Xunit.Abstractions;

namespace Tta.Tests.Bench;

[Trait("Lane", "Full")]
public class FigureBenchmarkTests(ITestOutputHelper output)
{
    /// <summary>
    /// Smoke run of the figure benchmark (2 heatmaps of 32x32; not timed, nothing asserted about speed): both sides
    /// write their files and the comparison lines appear. The real comparison is <c>./build.sh --target=Bench
    /// --only=figures</c>; TTA_FIGURE_BENCHMARK=COUNTxSIZE runs another size here.
    /// </summary>
    [Fact]
    public void FigureBenchmarkRuns()
    {
        var setting = Environment.GetEnvironmentVariable("TTA_FIGURE_BENCHMARK");
        var (count, size) = (2, 32);
        if (!string.IsNullOrWhiteSpace(setting))
        {
            var parts = setting.Split('x');
            (count, size) = (int.Parse(parts[0]), int.Parse(parts[1]));
        }
        var dir = Repo.TempDir();
        var log = new StringWriter();
        FigureBenchmark.Run(log, dir, count, size);
        output.WriteLine(log.ToString());
        var text = log.ToString();
        Assert.Contains($"figures: {count} heatmaps of {size}x{size} cells", text);
        Assert.Contains("tta (SkiaSharp)", text);
        Assert.True(File.Exists(Path.Combine(dir, "tta", $"hm{count - 1:000}.pdf")));
        Assert.True(File.Exists(Path.Combine(dir, "tta", $"hm{count - 1:000}.png")));
        Assert.Equal((long)count * size * size * 4, new FileInfo(Path.Combine(dir, "heatmaps.f32")).Length);
        if (text.Contains("wall time tta / matplotlib", StringComparison.Ordinal))
        {
            Assert.True(File.Exists(Path.Combine(dir, "matplotlib", $"hm{count - 1:000}.png")));
            Assert.Contains("bytes per heatmap: PDF tta", text);
        }
        else
        {
            // In CI matplotlib is installed by the benchmark itself, so the comparison must run there.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "the matplotlib comparison did not run");
            output.WriteLine("matplotlib comparison did not run (see above)");
        }
    }
}
