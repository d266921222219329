using System.Diagnostics;
using Tta.Store;

namespace Tta.Tests.Pipeline;

/// <summary>The stage cache end to end on a tiny local model: skipping, selective reruns, crash safety, bad input.</summary>
public class PipelineTests
{
    private static readonly string[] Stages = ["Download", "Extract", "Metrics", "Figures"];


    private static bool IsStale(TinyWorkspace ws, string stage)
    {
        var (code, output) = ws.Cli("status", $"--stage={stage}");
        Assert.True(code is 0 or 3, output);
        return code == 3;
    }

    [Fact]
    public async Task FullRunWritesFiguresAndSecondRunSkipsEverything()
    {
        var ws = new TinyWorkspace();
        Assert.All(Stages, s => Assert.True(IsStale(ws, s)));
        ws.RunAll();
        foreach (var text in new[] { "one", "two" })
            await AssertCosineDiagonalIsOne(ws, text);
        var figures = Directory.GetFiles(ws.FiguresDir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != Tta.Cache.OwnedFolder.MarkerName).ToArray();
        // 2 texts × hidden_states.0..2 × {cosine, dot} × {png, pdf}, the explorer page and a thumbnail per PNG
        Assert.Equal(2 * 3 * 2 * 2 + 1 + 2 * 3 * 2, figures.Length);
        var report = File.ReadAllText(Path.Combine(ws.FiguresDir, "tiny", "index.html"));
        Assert.Contains("tiny/one/encoder-L02-hidden_states.2-cosine.png", report);
        Assert.Contains(figures, f => f.EndsWith("encoder-L02-hidden_states.2-cosine.pdf", StringComparison.Ordinal));
        Assert.All(Stages, s => Assert.False(IsStale(ws, s)));
    }

    /// <summary>
    /// Every token is a unit vector's cosine with itself: the similarity file has a cosine map for every stored
    /// per-token layer, and each map's diagonal is 1 (float32: within 1e-5); it is also symmetric and within [−1, 1],
    /// which a map scaled by one token's norm twice would not be.
    /// </summary>
    private static async Task AssertCosineDiagonalIsOne(TinyWorkspace ws, string text)
    {
        var (_, stored) = await VectorStoreReader.ReadAsync(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", text, "activations.parquet"));
        var (_, maps) = await VectorStoreReader.ReadAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", text, "similarity.parquet"));
        var cosine = maps.Where(m => m.Key.Measure == "cosine").ToList();
        Assert.Equal(stored.Where(b => b.Key.Head is null).Select(b => b.Key.Point), cosine.Select(m => m.Key.Point));
        foreach (var map in cosine)
        {
            var n = map.Positions;
            Assert.Equal(n * n, map.Values.Length);
            for (var i = 0; i < n; i++)
            {
                Near.Equal(1.0, map.Values[i * n + i], rel: 0, abs: 1e-5, $"{text} {map.Key.Point} cosine [{i}, {i}]");
                for (var j = 0; j < i; j++)
                {
                    Near.Equal(map.Values[i * n + j], map.Values[j * n + i], rel: 0, abs: 1e-5, $"{text} {map.Key.Point} cosine [{j}, {i}] vs [{i}, {j}]");
                    Assert.InRange(map.Values[i * n + j], -1 - 1e-5, 1 + 1e-5);
                }
            }
        }
    }

    [Fact]
    public void EditingOnlyAFigureOptionRerunsOnlyFigures()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("cell_pixels: 8", "cell_pixels: 9"));
        Assert.False(IsStale(ws, "Download"));
        Assert.False(IsStale(ws, "Extract"));
        Assert.False(IsStale(ws, "Metrics"));
        Assert.True(IsStale(ws, "Figures"));
        var (_, explain) = ws.Cli("status", "--stage=Figures", "--explain");
        Assert.Contains("param:figures.cell_pixels changed", explain);
        Assert.DoesNotContain("param:figures.colormap", explain);
    }

    [Fact]
    public void AddingATextExtractsOnlyThatText()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("figures:", "  - name: three\n    text: \"on the mat\"\nfigures:"));
        var (code, output) = ws.Cli("status", "--stage=Extract", "--explain");
        Assert.Equal(3, code);
        Assert.Contains("tiny/tiny/one: up to date", output);
        Assert.Contains("tiny/tiny/two: up to date", output);
        Assert.Contains("tiny/tiny/three: stale", output);
    }

    [Fact]
    public void ForceStageMarksOnlyThatStage()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        Assert.True(ws.Cli("status", "--stage=Metrics", "--force-stage=Metrics").Code == 3);
        Assert.True(ws.Cli("status", "--stage=Extract", "--force-stage=Metrics").Code == 0);
        Assert.True(ws.Cli("status", "--stage=Extract", "--force").Code == 3);
    }

    [Fact]
    [Trait("Lane", "Full")]
    public void ExtractKilledMidWriteIsRecomputedToTheSameBytes()
    {
        var clean = new TinyWorkspace();
        clean.RunAll();
        var crashed = new TinyWorkspace();
        Assert.Equal(0, crashed.Cli("run", "--stage=Download").Code);

        // A real process death in the middle of writing the first Parquet file (after 2 of 3 blocks).
        var cli = Path.Combine(AppContext.BaseDirectory, "tta-cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { cli }.Concat(crashed.Args("run", "--stage=Extract"))) start.ArgumentList.Add(a);
        start.Environment["TTA_FAULT_CRASH_AFTER_BLOCKS"] = "2";
        using (var p = Process.Start(start)!)
        {
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.NotEqual(0, p.ExitCode);
        }
        var unitDir = Path.Combine(crashed.CacheDir, "extract", "tiny", "tiny", "one");
        Assert.False(File.Exists(Path.Combine(unitDir, "activations.parquet")));
        Assert.False(File.Exists(Path.Combine(unitDir, "manifest.json")));
        Assert.True(IsStale(crashed, "Extract"));

        crashed.RunAll();
        foreach (var text in new[] { "one", "two" })
        {
            var a = File.ReadAllBytes(Path.Combine(clean.CacheDir, "extract", "tiny", "tiny", text, "activations.parquet"));
            var b = File.ReadAllBytes(Path.Combine(crashed.CacheDir, "extract", "tiny", "tiny", text, "activations.parquet"));
            Assert.Equal(a, b);
        }
        Assert.All(Stages, s => Assert.False(IsStale(crashed, s)));
    }

    [Fact]
    public async Task ExtractKeepsOnlyTheSelectedPointsAndLayers()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("figures:",
            "extract:\n  points: [\"hidden_states.*\", \"encoder.layer.*.attention.self.probs\"]\n  layers: [0, 1]\nfigures:"));
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code == 0, output);
        var (metadata, blocks) = await VectorStoreReader.ReadAsync(
            Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "activations.parquet"));
        // hidden_states.0 and .1 (not .2), and layer 0 and 1 attention probabilities, one block per head (4 heads)
        Assert.Equal(["hidden_states.0", "encoder.layer.0.attention.self.probs", "hidden_states.1", "encoder.layer.1.attention.self.probs"],
            blocks.Select(b => b.Key.Point).Distinct());
        Assert.Equal(2 + 2 * 4, blocks.Count);
        var tokens = System.Text.Json.JsonSerializer.Deserialize<string[]>(metadata["tta.tokens"])!;
        Assert.All(blocks, b => Assert.Equal(tokens.Length, b.Positions));
        Assert.All(blocks.Where(b => b.Key.Head is not null), b => Assert.Equal(tokens.Length, b.Dim));
        Assert.All(blocks.Where(b => b.Key.Head is null), b => Assert.Equal(64, b.Dim));
    }

    [Fact]
    public void AModelThatCannotFitIsRefusedWithItsEstimateBeforeLoading()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var (code, output) = ws.Cli("run", "--stage=Extract", "--memory-limit=64K");
        Assert.Equal(1, code);
        Assert.Matches(@"model 'tiny' needs about [\d.]+ GiB \(weights [\d.]+ GiB \+ one block's working set [\d.]+ GiB \+ largest capture [\d.]+ GiB \+ process [\d.]+ GiB\), 0\.00 GiB available", output);
        Assert.Contains("tiny.yaml:3:", output); // points at the model entry
        Assert.Contains("The budget is --memory-limit's: raise it", output); // the fix names the option that set it
        Assert.False(Directory.Exists(Path.Combine(ws.CacheDir, "extract")) &&
                     Directory.EnumerateFiles(Path.Combine(ws.CacheDir, "extract"), "*.parquet", SearchOption.AllDirectories).Any());
        var (ok, printed) = ws.Cli("run", "--stage=Extract");
        Assert.True(ok == 0, printed);
        Assert.Contains("model 'tiny' (float32, cpu): needs about", printed);
    }

    public static TheoryData<string, string, string, string> BadInputs => new()
    {
        // name, replace, with, expected message fragment
        { "unknown key", "name: tiny\nmodels:", "name: tiny\ncolour: red\nmodels:", "tiny.yaml:2:1" },
        { "wrong type", "cell_pixels: 8", "cell_pixels: [8]", "tiny.yaml:14:16" },
        { "missing text file", "file: texts/one.txt", "file: texts/nope.txt", "nope.txt" },
        { "unknown model source", "source: local", "source: ftp", "tiny.yaml:4:13" },
        { "layer out of range", "figures:", "extract:\n  layers: [0, 7]\nfigures:", "tiny.yaml:13:" },
        { "duplicate names", "name: two", "name: one", "tiny.yaml:10:" },
        { "device cuda in a cpu build", "    path: model", "    path: model\n    device: cuda", "CPU backend" },
        { "empty texts", "text: \"a dog ran to the park!\"", "text: \"  \"", "tiny.yaml:11:" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputStopsBeforeAnyStageAndLeavesTheCacheAlone(string kind, string replace, string with, string fragment)
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        var before = ws.Snapshot();
        Assert.Contains(replace, TinyWorkspace.DefaultYaml);
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace(replace, with));
        foreach (var verb in new[] { "validate", "run" })
        {
            var (code, output) = ws.Cli(verb, verb == "run" ? ["--stage=Download"] : []); // validate takes no stage
            Assert.True(code == 2, $"{kind}: expected exit 2, got {code}: {output}");
            Assert.Contains(fragment, output);
            Assert.Matches(@"tiny\.yaml:\d+:\d+: ", output);
        }
        Assert.Equal(before, ws.Snapshot());
    }
}
