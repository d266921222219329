using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tta.Explorer;
using Tta.Metrics;
using Xunit.Abstractions;
using Tta.Pipeline;
using Tta.Metrics.Projection;
using Tta.Metrics.Similarity;
using Tta.Store;

namespace Tta.Tests.Explorer;

/// <summary>
/// The explorer's size budget at real scale: two T5-base-shaped models (encoder and decoder, 13 hidden states each,
/// 768 features) on one 480-token text, similarity maps cosine and dot (2 × 52 maps) and the trajectory projection.
/// The size is asserted; the load time is printed (not asserted: speed is measured, not tested). With
/// TTA_EXPLORER_BENCHMARK=1 the same maps are also drawn by plotly.js (inlined from Plotly.NET 6.0.0) for the
/// comparison in src/Tta/Explorer/README.md.
/// </summary>
[Trait("Lane", "Full")]
public class ExplorerBudgetTests(ITestOutputHelper output)
{
    private const int Tokens = 480, Dim = 768, HiddenStates = 13;
    public const long BudgetBytes = 25L * 1000 * 1000;

    /// <summary>Hidden states as a random walk with a drift shared by all tokens, as real ones drift (anisotropy).</summary>
    private static List<float[]> Walk(Random rng)
    {
        var layers = new List<float[]>();
        var h = new float[Tokens * Dim];
        for (var i = 0; i < h.Length; i++) h[i] = (float)Gaussian(rng);
        var drift = Enumerable.Range(0, Dim).Select(_ => (float)Gaussian(rng)).ToArray();
        for (var l = 0; l < HiddenStates; l++)
        {
            layers.Add((float[])h.Clone());
            var next = new float[h.Length];
            for (var t = 0; t < Tokens; t++)
                for (var k = 0; k < Dim; k++)
                    next[t * Dim + k] = h[t * Dim + k] + 0.6f * (float)Gaussian(rng) + 0.5f * l * drift[k] / HiddenStates;
            h = next;
        }
        return layers;
    }

    /// <summary>Zero-mean noise of unit variance (uniform: cheap, and as incompressible as Gaussian once quantised).</summary>
    private static double Gaussian(Random rng) => (rng.NextSingle() - 0.5f) * 3.4641f;

    internal static (PageData Data, List<QuantizedMap> Maps) BudgetPage()
    {
        var rng = new Random(11);
        var maps = new List<QuantizedMap>();
        var sets = new List<PageSet>();
        var tokens = Enumerable.Range(0, Tokens).Select(i => "▁tok" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        foreach (var model in new[] { "t5-base", "flan-t5-base" })
        {
            var similarity = new List<SimilarityEntry>();
            var projection = new List<ProjectionEntry>();
            foreach (var stack in new[] { "encoder", "decoder" })
            {
                var layers = Walk(rng);
                var blocks = new List<VectorBlock>();
                for (var l = 0; l < HiddenStates; l++)
                {
                    var point = $"{stack}_hidden_states.{l}";
                    blocks.Add(new VectorBlock(new ActivationPoint(point, stack, l), Tokens, Dim, layers[l]));
                    var computed = SimilarityMap.ComputeAll(layers[l], Tokens, Dim, SimilarityMap.Measures);
                    for (var m = 0; m < 2; m++)
                    {
                        maps.Add(QuantizedMap.From(computed[m], Tokens, Tokens, null));
                        similarity.Add(new SimilarityEntry(stack, point, l, Tta.Figures.LayerNames.Join([stack, $"layer {l}", point]), SimilarityMap.Measures[m], maps.Count - 1));
                    }
                }
                var fields = new Tta.Models.OutputFields(stack, stack + "_");
                var fit = TrajectoryProjection.Fit(blocks, StoredPoints.Of(Enumerable.Range(0, HiddenStates).Select(fields.HiddenState)))[0];
                var x = new float[Tokens * HiddenStates];
                var y = new float[Tokens * HiddenStates];
                for (var l = 0; l < HiddenStates; l++)
                {
                    var p = fit.Project(layers[l], Tokens);
                    for (var t = 0; t < Tokens; t++) (x[t * HiddenStates + l], y[t * HiddenStates + l]) = (p[t * 2], p[t * 2 + 1]);
                }
                projection.Add(new ProjectionEntry(fit.Series, stack, [.. Enumerable.Range(0, HiddenStates)],
                    [.. Enumerable.Range(0, HiddenStates).Select(l => $"layer {l}")], fit.ExplainedVarianceRatio, x, y));
            }
            sets.Add(new PageSet(model, "rubric", tokens,
                [.. similarity.OrderBy(s => s.Measure, StringComparer.Ordinal).ThenBy(s => Depth.StackOrder(s.Stack)).ThenBy(s => s.Layer)],
                [], projection, null, []));
        }
        var data = new PageData("tta explorer · budget", "budget", ExplorerBuilder.ColormapLut("cividis_r"), "#ffffff", "#ff00ff",
            "<start>", [new PageModel("t5-base", "google/t5-base", "hub", "main", "0123456789abcdef0123456789abcdef01234567", "float32"),
                new PageModel("flan-t5-base", "google/flan-t5-base", "hub", "main", null, "float32")],
            ["rubric"], sets, [], [.. maps.Select(q => new PageMap(q.Rows, q.Cols, q.Symmetric, q.Min, q.Scale, q.MaskedCells))],
            "name: budget\n", []);
        return (data, maps);
    }

    [Fact]
    public async Task PageOfTwoT5ModelsAt480TokensIsUnderTheBudgetAndShowsItsFirstMap()
    {
        var watch = Stopwatch.StartNew();
        var (data, maps) = BudgetPage();
        var page = Path.Combine(Repo.TempDir(), "index.html");
        ExplorerPage.Write(page, data, maps);
        var bytes = new FileInfo(page).Length;
        var raw = maps.Sum(m => (long)(m.Symmetric ? m.Rows * (m.Rows + 1) / 2 : m.Rows * m.Cols));
        output.WriteLine($"{maps.Count} maps of {Tokens}x{Tokens}: page {bytes / 1e6:0.00} MB (codes {raw / 1e6:0.00} MB raw, " +
                         $"{maps.Sum(m => (long)m.Compressed.Length) / 1e6:0.00} MB deflated); built in {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(bytes < BudgetBytes, $"the page weighs {bytes} bytes, over the {BudgetBytes} budget");
        Assert.True(maps.All(m => m.Symmetric), "similarity maps are stored once (upper triangle)");

        await using var chrome = await HeadlessChromium.StartOrSkip(output);
        if (chrome is null) return;
        var (first, step) = await Measure(chrome, page, "window.__tta.ready.then(() => window.__tta.firstMapMs)", "window.__tta.step(0, 1)");
        output.WriteLine($"canvas explorer: first map {first:0} ms after navigation start; slider step {step:0.0} ms per map");
        Assert.Empty(chrome.Errors);

        if (Environment.GetEnvironmentVariable("TTA_EXPLORER_BENCHMARK") != "1") return;
        var plotly = Path.Combine(Path.GetDirectoryName(page)!, "plotly.html");
        File.WriteAllText(plotly, PlotlyPage(data, maps));
        var (pFirst, pStep) = await Measure(chrome, plotly, "window.__plotly.ready", "window.__plotly.step()");
        output.WriteLine($"plotly.js {PlotlyVersion}: page {new FileInfo(plotly).Length / 1e6:0.00} MB; first map {pFirst:0} ms; slider step {pStep:0.0} ms per map");
        Assert.Empty(chrome.Errors);
    }

    /// <summary>Loads a page: ms from navigation start to the first map, and the mean ms of 24 layer steps (best of 3 loads).</summary>
    private static async Task<(double First, double Step)> Measure(HeadlessChromium chrome, string page, string ready, string step)
    {
        var (first, perStep) = (double.MaxValue, double.MaxValue);
        for (var run = 0; run < 3; run++)
        {
            await chrome.Open(page);
            first = Math.Min(first, (await chrome.Json(ready)).GetDouble());
            var ms = (await chrome.Json($"(async () => {{ const t0 = performance.now(); for (let i = 0; i < 24; i++) await {step}; return (performance.now() - t0) / 24; }})()")).GetDouble();
            perStep = Math.Min(perStep, ms);
        }
        return (first, perStep);
    }

    private static string PlotlyVersion = "";

    /// <summary>The same maps drawn as plotly.js heatmaps (the alternative src/Tta/Explorer/README.md compares against).</summary>
    private static string PlotlyPage(PageData data, List<QuantizedMap> maps)
    {
        var assembly = typeof(Plotly.NET.Chart).Assembly;
        var name = assembly.GetManifestResourceNames().First(n => n.EndsWith(".js", StringComparison.Ordinal) && n.Contains("plotly", StringComparison.OrdinalIgnoreCase));
        PlotlyVersion = name;
        using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
        var plotlyJs = reader.ReadToEnd();
        var set = data.Sets[0];
        var entries = set.Similarity.OfType<SimilarityEntry>().Where(s => s.Measure == "cosine").ToList();
        var sb = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><div id=\"plot\" style=\"width:720px;height:720px\"></div>\n");
        sb.Append("<script>").Append(plotlyJs).Append("</script>\n");
        for (var i = 0; i < maps.Count; i++)
            sb.Append("<script type=\"application/octet-stream\" id=\"m").Append(i).Append("\">").Append(Convert.ToBase64String(maps[i].Compressed)).Append("</script>\n");
        sb.Append("<script>const maps = ").Append(System.Text.Json.JsonSerializer.Serialize(data.Maps, new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase }))
          .Append(";\nconst order = ").Append(System.Text.Json.JsonSerializer.Serialize(entries.Select(e => e.Map))).Append(";\n");
        sb.Append("""
            async function z(i) {
              const bin = atob(document.getElementById('m' + i).textContent); const b = new Uint8Array(bin.length);
              for (let k = 0; k < bin.length; k++) b[k] = bin.charCodeAt(k);
              const c = new Uint8Array(await new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream('deflate-raw'))).arrayBuffer());
              const m = maps[i], n = m.cols, rows = [];
              for (let r = 0; r < n; r++) { const row = new Array(n); for (let j = 0; j < n; j++) { const a = Math.min(r, j), q = Math.max(r, j); row[j] = m.min + c[a * n - a * (a - 1) / 2 + (q - a)] * m.scale; } rows.push(row); }
              return rows;
            }
            let at = 0;
            window.__plotly = {
              ready: (async () => { await Plotly.newPlot('plot', [{ type: 'heatmap', z: await z(order[0]), colorscale: 'Cividis', reversescale: true }], { width: 720, height: 720 }); return performance.now(); })(),
              step: async () => { at = (at + 1) % order.length; await Plotly.restyle('plot', { z: [await z(order[at])] }); },
            };
            </script></body></html>
            """);
        return sb.ToString();
    }
}
