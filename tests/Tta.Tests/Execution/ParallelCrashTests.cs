using System.Diagnostics;
using Xunit.Abstractions;

namespace Tta.Tests.Execution;

/// <summary>
/// A run with several units in flight (<c>--jobs=2</c>) killed with SIGKILL part-way: whatever it left behind, the
/// next run trusts only what was finished (outputs written atomically, each unit's manifest last) and ends with the
/// same bytes as a build that was never interrupted, with no temporary file left.
/// </summary>
[Trait("Lane", "Full")]
public sealed class ParallelCrashTests(ITestOutputHelper output)
{
    [Fact]
    public void ARunKilledWithUnitsInFlightIsRebuiltToTheBytesOfAnUninterruptedBuild()
    {
        var ws = ScaleOutTests.TwoModelsThreeTexts();
        var clean = Build(ws, "clean");
        Assert.Equal(0, clean.Code);
        var expected = ScaleOutTests.Outputs(Path.Combine(ws.Root, "clean", "cache"), Path.Combine(ws.Root, "clean", "figures"));
        var units = Manifests(Path.Combine(ws.Root, "clean", "cache"));
        Assert.True(units >= 20, $"{units} units"); // 2 downloads, 6 extracts, 6 + metrics, 6 figures, the explorer

        var killedMidway = 0;
        foreach (var after in new[] { 3, units / 2, units - 3 })
        {
            var name = $"killed-after-{after}";
            var cache = Path.Combine(ws.Root, name, "cache");
            using (var run = Process.Start(TtaProcess.Cli(ws.Args("run", RunArgs(ws, name))))!)
            {
                run.StandardOutput.ReadToEndAsync();
                run.StandardError.ReadToEndAsync();
                var watch = Stopwatch.StartNew();
                while (!run.HasExited && Manifests(cache) < after && watch.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(5);
                if (!run.HasExited)
                {
                    run.Kill(entireProcessTree: true); // SIGKILL: no handler, no cleanup
                    killedMidway++;
                }
                run.WaitForExit();
            }
            output.WriteLine($"{name}: killed with {Manifests(cache)} of {units} manifests written");

            var rerun = Build(ws, name);
            Assert.True(rerun.Code == 0, rerun.Output);
            var rebuilt = ScaleOutTests.Outputs(cache, Path.Combine(ws.Root, name, "figures"));
            Assert.Equal(expected.Keys, rebuilt.Keys);
            var differ = expected.Keys.Where(k => expected[k] != rebuilt[k]).ToList();
            Assert.True(differ.Count == 0, $"{name}: {string.Join(", ", differ)} differ from the uninterrupted build");
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(ws.Root, name), ".tmp-*", SearchOption.AllDirectories));
            Assert.Equal(units, Manifests(cache));
        }
        Assert.True(killedMidway >= 2, $"only {killedMidway} of 3 runs were still running when killed");
    }

    private static string[] RunArgs(TinyWorkspace ws, string name) =>
        ["--stage=Download", "--through=Figures", "--jobs=2",
            $"--cache={Path.Combine(ws.Root, name, "cache")}", $"--figures={Path.Combine(ws.Root, name, "figures")}"];

    private (int Code, string Output) Build(TinyWorkspace ws, string name)
    {
        var result = TtaProcess.RunCli(ws, "run", RunArgs(ws, name));
        output.WriteLine($"{name}: exit {result.Code}");
        return result;
    }

    private static int Manifests(string cache) =>
        Directory.Exists(cache) ? Directory.EnumerateFiles(cache, "*manifest.json", SearchOption.AllDirectories).Count() : 0;
}
