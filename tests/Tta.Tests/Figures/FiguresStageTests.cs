using Tta.Metrics;
using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Tta.Figures;
using Xunit.Abstractions;
using Tta.Metrics.Attention;
using Tta.Metrics.Nearest;
using Tta.Pipeline;
using Tta.Store;

namespace Tta.Tests.Figures;

/// <summary>The Figures stage on the optional metrics: files per kind, their validity and content, selective reruns.</summary>
[Trait("Lane", "Full")]
public class FiguresStageTests(ITestOutputHelper output)
{
    private static readonly string[] Stages = ["Download", "Extract", "Metrics", "Figures"];

    private const string MetricsYaml = "metrics:\n  attention: { layers: [0], heads: [0, 1] }\n  nearest: { k: 2 }\n  trajectory: true\n";

    /// <summary>The tiny BERT experiment with every optional metric, a third text of more than 10 tokens and SVG too.</summary>
    private static string BertYaml(string metrics = MetricsYaml) => TinyWorkspace.DefaultYaml
        .Replace("figures:", "  - name: long\n    text: \"the cat sat on the mat. a dog ran to the park!\"\n" + metrics + "figures:")
        .Replace("formats: [png, pdf]", "formats: [png, pdf, svg]");

    private static void RunAll(TinyWorkspace ws)
    {
        foreach (var stage in Stages)
        {
            var (code, output) = ws.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
    }

    private static (bool Stale, string Explain) Status(TinyWorkspace ws, string stage)
    {
        var (code, output) = ws.Cli("status", $"--stage={stage}", "--explain");
        Assert.True(code is 0 or 3, output);
        return (code == 3, output);
    }

    private static string Dir(TinyWorkspace ws, string model, string text) => Path.Combine(ws.FiguresDir, "tiny", model, text);

    private static string[] Stems(string dir) =>
        [.. Directory.GetFiles(dir).Select(Path.GetFileNameWithoutExtension).Distinct().Order(StringComparer.Ordinal).Cast<string>()];

    private static (int Width, int Height) PngSize(string path)
    {
        var png = File.ReadAllBytes(path);
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.True(png.AsSpan(0, 8).SequenceEqual(signature), $"PNG signature of {path}");
        Assert.Equal("IHDR", Encoding.ASCII.GetString(png, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
    }

    /// <summary>PNG, one-page PDF and SVG of one stem, all of the same size; returns the SVG's text content.</summary>
    private static string CheckFigure(string dir, string stem, FigureLayout? layout = null)
    {
        var (w, h) = PngSize(Path.Combine(dir, stem + ".png"));
        if (layout is not null) Assert.Equal((layout.Width, layout.Height), (w, h));
        var pdf = Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(dir, stem + ".pdf")));
        Assert.StartsWith("%PDF-", pdf);
        Assert.Single(Regex.Matches(pdf, @"/Type\s*/Page(?![A-Za-z])"));
        FigureTests.CheckMediaBox(pdf, w, h);
        Assert.Contains("%%EOF", pdf[^32..]);
        var svg = XDocument.Load(Path.Combine(dir, stem + ".svg")).Root!;
        Assert.Equal("svg", svg.Name.LocalName);
        Assert.Equal(w.ToString(), (string?)svg.Attribute("width"));
        return string.Join("\n", svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
    }

    [Fact]
    public async Task BertFiguresOfEveryKindAreWrittenValidAndInTheReport()
    {
        var ws = new TinyWorkspace(BertYaml());
        RunAll(ws);
        var dir = Dir(ws, "tiny", "one");
        var stems = Stems(dir);

        // similarity: names unchanged (hidden_states.0..2 × cosine, dot).
        var similarity = stems.Where(s => s.EndsWith("-cosine", StringComparison.Ordinal) || s.EndsWith("-dot", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, similarity.Count);
        Assert.Contains("encoder-L02-hidden_states.2-cosine", similarity);

        // attention: BERT has no position bias: Q.Kᵀ, combined and softmax per head of block 0, no bias, no kernel.
        var module = "encoder.layer.0.attention.self";
        var attention = stems.Where(s => s.Contains("-attention-", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            from h in new[] { "00", "01" } from p in new[] { "combined", "qk", "softmax" } select $"encoder-L00-{module}-h{h}-attention-{p}",
            attention);
        var blocks = (await VectorStoreReader.ReadAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", "one", "attention.parquet"))).Blocks;
        var probs = blocks.Single(b => b.Key.Head == 1 && b.Key.Measure == "probs");
        var tokens = new[] { "[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]" };
        var layout = HeatmapFigure.ComputeLayout(PaperFigures.Attention(AttentionPanel.Softmax, probs.Values, probs.Positions, probs.Dim, tokens, tokens, "cividis_r", 8)
            with
        { Title = $"tiny · one · encoder · block 0 · attention.self · head 1 · {PaperFigures.SoftmaxTitle}" });
        var text = CheckFigure(dir, $"encoder-L00-{module}-h01-attention-softmax", new FigureLayout(layout.Width, layout.Height, 0, 0, 0, 0));
        Assert.Contains(PaperFigures.SoftmaxTitle, text);
        Assert.Contains(PaperFigures.KeyAxis, text);
        Assert.Contains(PaperFigures.QueryAxis, text);
        Assert.Contains(PaperFigures.QueryKeyTitle, CheckFigure(dir, $"encoder-L00-{module}-h00-attention-qk"));

        // trajectory: one chart per measure; 9 tokens → one legend entry per token.
        foreach (var measure in new[] { "step_length", "cosine_next", "cosine_final", "curvature" })
        {
            var svg = CheckFigure(dir, $"encoder-hidden_states-trajectory-{measure}");
            Assert.Contains("0 [CLS]", svg);
            Assert.Contains("6 mat", svg);
            Assert.Contains("Layer", svg);
        }
        // … the long text (more than 10 tokens) gets the mean ± sd instead of a legend.
        var longSvg = CheckFigure(Dir(ws, "tiny", "long"), "encoder-hidden_states-trajectory-curvature");
        Assert.Contains("mean of 16", longSvg);
        Assert.DoesNotContain("0 [CLS]", longSvg);

        // nearest: one grid per measure; the rank-1 token of each cell, from nearest.parquet.
        var (_, nearest) = await NearestRows.ReadAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", "one", "nearest.parquet"));
        foreach (var measure in new[] { "ip", "l2" })
        {
            var svg = CheckFigure(dir, $"encoder-hidden_states-nearest-{measure}");
            foreach (var top in nearest.Where(r => r.Measure == measure && r.Rank == 0))
                Assert.Contains(TokenGridFigure.FitLabel(TokenLabels.Label(top.Token ?? "#" + top.TokenId, 0), TokenGridFigure.CellFontSize(20), 60), svg);
        }
        Assert.Equal(6 + 6 + 4 + 2, stems.Length);

        // The explorer's gallery names every kind with its caption.
        var report = File.ReadAllText(Path.Combine(ws.FiguresDir, "tiny", "index.html"));
        foreach (var caption in new[] { "\"group\":\"similarity · cosine\"", "\"caption\":\"head 0 · Q.Kᵀ\"", "\"caption\":\"head 1 · Combined Attention Score\"",
                     "\"caption\":\"head 0 · Final Attention Weights (after softmax)\"", "\"caption\":\"encoder · hidden_states · curvature\"",
                     "\"caption\":\"encoder · hidden_states · step length\"", "\"caption\":\"encoder · hidden_states · inner product\"",
                     "\"caption\":\"encoder · hidden_states · squared L2 distance\"" })
            Assert.Contains(caption, report);
        Assert.DoesNotContain("· Position Bias\"", report);
        Assert.All(Stages, s => Assert.False(Status(ws, s).Stale));
    }

    [Fact]
    public void FiguresOnlyEditsRerunOnlyFiguresAndNearestEditsOnlyNearest()
    {
        var ws = new TinyWorkspace(BertYaml());
        RunAll(ws);

        // A figures-only edit: only Figures is stale; running it leaves the metrics files alone.
        var metricsDir = Path.Combine(ws.CacheDir, "metrics");
        var metricsBefore = Snapshot(metricsDir);
        ws.WriteExperiment(BertYaml().Replace("cell_pixels: 8", "cell_pixels: 9\n  kinds: [nearest, attention]"));
        foreach (var stage in new[] { "Download", "Extract", "Metrics" })
            Assert.False(Status(ws, stage).Stale, stage);
        var (stale, explain) = Status(ws, "Figures");
        Assert.True(stale);
        Assert.Contains("param:figures.cell_pixels changed", explain);
        Assert.Contains("param:figures.kinds changed", explain);
        RunAll(ws);
        Assert.Equal(metricsBefore, Snapshot(metricsDir));
        var stems = Stems(Dir(ws, "tiny", "one"));
        Assert.DoesNotContain(stems, s => s.Contains("-trajectory-", StringComparison.Ordinal) || s.EndsWith("-cosine", StringComparison.Ordinal));
        Assert.Contains("encoder-hidden_states-nearest-ip", stems);

        // Changing only metrics.nearest reruns the nearest metrics and then the figures (the nearest file changed).
        ws.WriteExperiment(BertYaml(MetricsYaml.Replace("k: 2", "k: 3")).Replace("cell_pixels: 8", "cell_pixels: 9\n  kinds: [nearest, attention]"));
        var (_, metrics) = Status(ws, "Metrics");
        Assert.Contains("tiny/tiny/one/nearest: stale", metrics);
        foreach (var up in new[] { "tiny/tiny/one:", "tiny/tiny/one/attention:", "tiny/tiny/one/trajectory:" })
            Assert.Contains(up + " up to date", metrics);
        Assert.Equal(0, ws.Cli("run", "--stage=Metrics").Code);
        (stale, explain) = Status(ws, "Figures");
        Assert.True(stale);
        Assert.Contains("nearest.parquet changed", explain);
        Assert.DoesNotContain("param:figures.", explain);
        Assert.DoesNotContain("attention.parquet changed", explain);
    }

    private static string Snapshot(string dir) => string.Join("\n",
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{f} {File.GetLastWriteTimeUtc(f).Ticks}"));

    /// <summary>
    /// flan-t5-tiny as a local model, with the T5 Unigram tokenizer.json fixture (ids below its 320-entry vocabulary):
    /// every panel including the position bias, and the kernel bar chart, for encoder and decoder self-attention.
    /// </summary>
    [Fact]
    public async Task T5AttentionFiguresIncludePositionBiasAndKernel()
    {
        var ws = new TinyWorkspace();
        ws.AddFlanT5Tiny();
        ws.WriteExperiment("""
            name: tiny
            models:
              - id: flan-t5-tiny
                source: local
                path: t5
                name: t5
            texts:
              - name: one
                text: "The quick brown fox."
            extract:
              points: ["encoder_hidden_states.*", "decoder_hidden_states.*"]
            metrics:
              attention: { layers: [0], heads: [2] }
            figures:
              kinds: [attention]
              formats: [png, pdf, svg]
              cell_pixels: 8
            """);
        RunAll(ws);
        var dir = Dir(ws, "t5", "one");
        var stems = Stems(dir);
        var blocks = (await VectorStoreReader.ReadAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", "t5", "one", "attention.parquet"))).Blocks;
        var withBias = blocks.Where(b => b.Key.Measure == "position_bias" && b.Values.Any(v => v != 0)).Select(b => b.Key with { Measure = null }).ToList();
        Assert.Contains(withBias, k => k.Stack == "encoder");
        Assert.Contains(withBias, k => k.Stack == "decoder");
        // T5 cross-attention has no relative bias: its bias block is all zeros and gets no bias panel or kernel.
        Assert.Contains(blocks, b => b.Key.Point.Contains("EncDecAttention") && b.Key.Measure == "position_bias");
        Assert.DoesNotContain(withBias, k => k.Point.Contains("EncDecAttention"));

        // Every (module, block, head): the four panels where there is a bias (else three), plus the kernel.
        var expected = new List<string>();
        foreach (var key in blocks.Select(b => b.Key with { Measure = null }).Distinct())
        {
            var bias = withBias.Contains(key);
            foreach (var p in bias ? new[] { "qk", "position-bias", "combined", "softmax", "kernel" } : ["qk", "combined", "softmax"])
                expected.Add(FiguresStage.FileStem(key with { Measure = "attention-" + p }));
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), stems);
        Assert.Contains("encoder-L00-encoder.block.0.layer.0.SelfAttention-h02-attention-kernel", stems);
        Assert.Contains("encoder-L00-encoder.block.0.layer.0.SelfAttention-h02-attention-position-bias", stems);

        // The kernel chart: one bar per key position at j − (middle row), from the stored kernel row.
        var kernel = blocks.Single(b => b.Key.Stack == "encoder" && b.Key.Measure == "kernel");
        var row = kernel.Dim / 2;
        var spec = PaperFigures.Kernel(kernel.Values, [.. Enumerable.Range(0, kernel.Dim).Select(j => j - row)])
            with
        { Title = $"t5 · one · encoder · block 0 · layer.0.SelfAttention · head 2 · {PaperFigures.KernelTitle}" };
        var svg = CheckFigure(dir, "encoder-L00-encoder.block.0.layer.0.SelfAttention-h02-attention-kernel", BarChartFigure.ComputeLayout(spec));
        Assert.Contains(PaperFigures.KernelTitle, svg);
        Assert.Contains(PaperFigures.RelativeKeyAxis, svg);
        Assert.Contains(PaperFigures.PositionBiasTitle,
            CheckFigure(dir, "encoder-L00-encoder.block.0.layer.0.SelfAttention-h02-attention-position-bias"));
        var report = File.ReadAllText(Path.Combine(ws.FiguresDir, "tiny", "index.html"));
        Assert.Contains("· Position Bias Kernel\"", report);
        Assert.Contains("· Position Bias\"", report);

        await DecoderSelfAttentionMaskIsDrawnAsMasked(ws, dir);
    }

    /// <summary>
    /// The decoder self-attention "Combined Attention Score" panel of a real run: the causal mask (float32's lowest value
    /// added to the scores) is outside the colour range, every colour-bar label in the PDF text is at most 12
    /// characters, and every masked cell of the PNG has the masked colour.
    /// </summary>
    private async Task DecoderSelfAttentionMaskIsDrawnAsMasked(TinyWorkspace ws, string dir)
    {
        var parquet = Path.Combine(ws.CacheDir, "metrics", "tiny", "t5", "one", "attention.parquet");
        var (metadata, blocks) = await VectorStoreReader.ReadAsync(parquet);
        var scores = blocks.Single(b => b.Key.Stack == "decoder" && b.Key.Point.Contains("SelfAttention") && b.Key.Measure == "scores");
        var n = scores.Positions;
        Assert.True(n >= 4);
        for (var q = 0; q < n; q++)
            for (var k = 0; k < n; k++)
                Assert.Equal(k > q, scores.Values[q * n + k] <= -1e38f); // the causal mask, as transformers writes it

        // The same job the stage ran, to know the figure's spec and layout.
        var experiment = Tta.Config.ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings);
        var tokens = System.Text.Json.JsonSerializer.Deserialize<string[]>(metadata["tta.tokens"])!;
        var context = new FigureContext("t5", "one", tokens, experiment.Figures, Repo.TempDir(), metadata["tta.dtype"]);
        var stem = FiguresStage.FileStem(scores.Key with { Measure = "attention-combined" });
        var job = AttentionFigures.Render(context, parquet).Single(j => j.Stem == stem);
        var again = job.Render();
        foreach (var ext in new[] { "png", "pdf" })
            Assert.True(File.ReadAllBytes(Path.Combine(dir, stem + "." + ext)).AsSpan().SequenceEqual(File.ReadAllBytes(again.Single(p => p.EndsWith(ext)))), ext);
        var spec = job.Heatmap!;
        Assert.Contains("decoder · block 0 · layer.0.SelfAttention · head 2 · Combined Attention Score", spec.Title);
        var plan = HeatmapFigure.Plan(spec);
        var unmasked = scores.Values.Where(v => v > -1e38f).ToArray();
        Assert.Equal((double)unmasked.Min(), plan.Scale.Min); // the scale's ends are the same float values, exactly
        Assert.Equal((double)unmasked.Max(), plan.Scale.Max);
        Assert.Equal(n * (n - 1) / 2, plan.Scale.MaskedCount);

        var pdftotext = PdfText.Require(output);
        if (pdftotext is not null)
        {
            var words = PdfText.Words(pdftotext, Path.Combine(dir, stem + ".pdf"));
            const double pt = 72.0 / FigureFiles.DefaultDpi;
            var barRight = (plan.Layout.Left + n * plan.Layout.CellPixels + plan.ColorbarGap + plan.ColorbarWidth) * pt;
            var colourBar = words.Where(w => w.XMin > barRight && w.YMax <= (plan.Layout.Top + n * plan.Layout.CellPixels) * pt + 6).ToList();
            var texts = colourBar.Select(w => w.Text).ToList();
            Assert.All(plan.Colorbar.Labels, l => Assert.Contains(l, texts));
            Assert.Contains("score", texts);
            Assert.All(colourBar, w => Assert.True(w.Text.Length <= 12, $"colour-bar label '{w.Text}' is {w.Text.Length} characters"));
            Assert.Contains(words, w => w.Text == "masked");
        }

        using var bitmap = SkiaSharp.SKBitmap.Decode(Path.Combine(dir, stem + ".png"));
        var cell = plan.Layout.CellPixels;
        for (var q = 0; q < n; q++)
            for (var k = 0; k < n; k++)
            {
                var px = bitmap.GetPixel(plan.Layout.Left + k * cell + cell / 2, plan.Layout.Top + q * cell + cell / 2);
                var expected = k > q ? plan.Scale.Masked : plan.Scale.ColorOf(scores.Values[q * n + k]);
                Assert.True(px.Red == expected.Red && px.Green == expected.Green && px.Blue == expected.Blue, $"cell ({q},{k}) is {px}, expected {expected}");
            }
    }

    [Fact]
    public void FigureBytesDoNotDependOnTheNumberOfWorkers()
    {
        var ws = new TinyWorkspace(BertYaml());
        foreach (var stage in Stages)
            Assert.Equal(0, ws.Cli("run", $"--stage={stage}", "--jobs=1").Code);
        var one = Hashes(ws.FiguresDir);
        Assert.True(one.Count > 30);
        var (code, log) = ws.Cli("run", "--stage=Figures", "--force", "--jobs=4");
        Assert.True(code == 0, log);
        var four = Hashes(ws.FiguresDir);
        Assert.Equal(one.Keys, four.Keys);
        Assert.Equal([], one.Keys.Where(k => one[k] != four[k]).Select(k => k[(k.LastIndexOf("-", StringComparison.Ordinal) + 1)..]).Distinct());
        Assert.NotEqual(0, ws.Cli("run", "--stage=Figures", "--jobs=0").Code);
    }

    private static SortedDictionary<string, string> Hashes(string dir) => new(
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".html", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);
}
