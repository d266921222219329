using System.Text;
using SkiaSharp;
using Tta.Figures;
using Xunit.Abstractions;
using Tta.Metrics.Attention;

namespace Tta.Tests.Figures;

/// <summary>
/// What a reader of a 512-token figure gets: every token as a label in the PDF text (read back by poppler's pdftotext),
/// at its row and column and at a legible size; a caption when only a subset is labelled; masks in their own colour
/// outside the colour range; short colour-bar labels; a figure that says "nothing to draw" instead of an exception.
/// </summary>
public class FigureReadabilityTests(ITestOutputHelper output)
{
    private const string Text = "The grading rubric awards full marks when the essay states a clear thesis, supports it with café evidence, "
        + "and anticipates a naïve objection; partial marks go to answers that restate the prompt.\n";

    private static string[] Words(int count) =>
        [.. Enumerable.Range(0, count).Select(i => Text.Split(' ')[i % Text.Split(' ').Length] + (i % 97 == 5 ? "ness" : ""))];

    /// <summary>512 SentencePiece tokens: words with ▁, some pieces without, one very long.</summary>
    private static string[] SentencePiece(int count)
    {
        var words = Words(count);
        var tokens = words.Select((w, i) => (i % 4 == 3 ? "" : "▁") + w.Replace("\n", "")).ToArray();
        tokens[7] = "▁extraordinarily-long-piece";
        tokens[^1] = "</s>";
        return tokens;
    }

    /// <summary>512 byte-level BPE tokens (GPT-2's byte table): Ġ for spaces, Ċ for newlines, é as Ã©.</summary>
    private static string[] ByteLevel(int count)
    {
        static string Encode(string s)
        {
            var sb = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(s))
            {
                var printable = b is >= (byte)'!' and <= (byte)'~' or >= 0xA1 and <= 0xAC or >= 0xAE;
                var n = 0;
                if (!printable)
                    for (var k = 0; k < b; k++)
                        if (!(k is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE)) n++;
                sb.Append(printable ? (char)b : (char)(0x100 + n));
            }
            return sb.ToString();
        }
        return [.. Words(count).Select((w, i) => Encode((i % 3 == 0 ? "" : " ") + w))];
    }

    private static float[] Similarity(int n, int seed)
    {
        var rng = new Random(seed);
        var values = new float[n * n];
        for (var i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    [Fact]
    public void EveryTokenOfA512TokenTextIsALabelInThePdf()
    {
        var pdftotext = PdfText.Require(output);
        if (pdftotext is null) return;
        const int n = 512, cell = 12;
        var dir = Repo.TempDir();
        foreach (var (name, tokens) in new[] { ("sentencepiece", SentencePiece(n)), ("byte-level", ByteLevel(n)) })
        {
            Assert.Contains(tokens, t => t.Contains('▁') || t.Contains('Ġ'));
            var spec = new HeatmapSpec(Similarity(n, 1), n, n, $"model · rubric · encoder · layer 3 · hidden_states.3 · {name}",
                "Token Position", "Token Position", tokens, tokens, "cividis_r", cell, "cosine similarity");
            var pdf = HeatmapFigure.Render(spec, Path.Combine(dir, name), ["pdf"])[0];
            var layout = HeatmapFigure.ComputeLayout(spec);
            var words = PdfText.Words(pdftotext, pdf);
            var labels = TokenLabels.Labels(tokens);
            const double pt = 72.0 / FigureFiles.DefaultDpi;
            double left = layout.Left * pt, top = layout.Top * pt, bottom = (layout.Top + n * cell) * pt, pitch = cell * pt;

            // No tokenizer symbol reaches the reader.
            Assert.DoesNotContain(words, w => w.Text.Contains('▁') || w.Text.Contains('Ġ') || w.Text.Contains('Ċ'));
            Assert.DoesNotContain(words, w => w.Text.Contains("labelled", StringComparison.Ordinal));
            for (var i = 0; i < n; i++)
            {
                // Row i: a horizontal word left of the map, centred on the row.
                var centre = top + (i + 0.5) * pitch;
                // (Labels end right at the tick marks, within 6 points of the map; the axis label stands further out.)
                var row = words.Where(w => w.XMax <= left + 0.5 && w.XMax >= left - 6 && Math.Abs(w.YMid - centre) < pitch / 2).ToList();
                Assert.True(row.Count == 1 && row[0].Text == labels[i], $"{name}: row {i} should be labelled '{labels[i]}', found [{string.Join(", ", row.Select(w => w.Text))}]");
                // Legible: the glyph box is at least 4.5 points tall (the label font is 0.82 of the 5.76-point row).
                Assert.True(row[0].YMax - row[0].YMin >= 4.5, $"{name}: row label {i} is {row[0].YMax - row[0].YMin:F2} pt tall");
                // Column i: a vertical word below the map, centred on the column.
                var x = left + (i + 0.5) * pitch;
                var column = words.Where(w => w.YMin >= bottom - 0.5 && w.YMin <= bottom + 6 && Math.Abs(w.XMid - x) < pitch / 2).ToList();
                Assert.True(column.Count == 1 && column[0].Text == labels[i], $"{name}: column {i} should be labelled '{labels[i]}', found [{string.Join(", ", column.Select(w => w.Text))}]");
            }
            if (name == "sentencepiece") Assert.Equal("␣extraordin…", labels[7]);
            output.WriteLine($"{name}: {new FileInfo(pdf).Length} bytes, page {layout.Width * pt:F0} x {layout.Height * pt:F0} pt");
        }
    }

    [Fact]
    public void AboveFiveHundredTwelveTokensARegularSubsetIsLabelledAndTheCaptionSaysSo()
    {
        const int n = 1024;
        var tokens = SentencePiece(n);
        var spec = new HeatmapSpec(Similarity(n, 2), n, n, "long text", "Token Position", "Token Position", tokens, tokens,
            "cividis_r", 4, "dot product");
        var plan = HeatmapFigure.Plan(spec);
        Assert.Equal(2, plan.X.Step);
        Assert.Equal(2, plan.Y.Step);
        Assert.Equal(TokenLabels.Labels(tokens).Where((_, i) => i % 2 == 0), plan.Y.Labels);
        Assert.Equal("Every 2nd of the 1024 tokens is labelled.", plan.Caption);
        var pdftotext = PdfText.Require(output);
        if (pdftotext is null) return;
        var pdf = HeatmapFigure.Render(spec, Path.Combine(Repo.TempDir(), "long"), ["pdf"])[0];
        var text = string.Join(" ", PdfText.Words(pdftotext, pdf).Select(w => w.Text));
        Assert.Contains(plan.Caption!, text);
    }

    [Fact]
    public void MaskedCellsAreOutsideTheColourRangeInTheirOwnColourAndNamed()
    {
        // A causal mask with float32's lowest value (transformers' mask) over scores of about 1e-5.
        const int n = 24, cell = 10;
        var values = new float[n * n];
        var rng = new Random(5);
        for (var q = 0; q < n; q++)
            for (var k = 0; k < n; k++)
                values[q * n + k] = k > q ? float.MinValue + (float)rng.NextDouble() * 1e30f : (float)(rng.NextDouble() * 3e-5);
        values[1] = float.NegativeInfinity;
        var spec = PaperFigures.Attention(AttentionPanel.Combined, values, n, n, cellPixels: cell);
        var plan = HeatmapFigure.Plan(spec);
        Assert.InRange(plan.Scale.Min, 0, 3e-5);
        Assert.InRange(plan.Scale.Max, 0, 3e-5);
        Assert.Equal(n * (n - 1) / 2, plan.Scale.MaskedCount);
        Assert.Equal("masked", plan.Legend);
        Assert.All(plan.Colorbar.Labels, l => Assert.True(l.Length <= NumberLabels.MaxChars, $"colour-bar label '{l}'"));
        Assert.DoesNotContain(plan.Scale.Lut, c => c == plan.Scale.Masked);

        var png = HeatmapFigure.Render(spec, Path.Combine(Repo.TempDir(), "masked"), ["png"])[0];
        using var bitmap = SKBitmap.Decode(png);
        var layout = plan.Layout;
        for (var q = 0; q < n; q++)
            for (var k = 0; k < n; k++)
            {
                var px = bitmap.GetPixel(layout.Left + k * cell + cell / 2, layout.Top + q * cell + cell / 2);
                var expected = k > q ? plan.Scale.Masked : plan.Scale.ColorOf(values[q * n + k]);
                Assert.True(px.Red == expected.Red && px.Green == expected.Green && px.Blue == expected.Blue, $"cell ({q},{k}) is {px}, expected {expected}");
            }
        // float16 runs mask with −65504: masked under their dtype's threshold, a real score under float32's.
        Assert.True(MaskedValues.IsMasked(-65504f, MaskedValues.Threshold("float16")));
        Assert.False(MaskedValues.IsMasked(-65504f, MaskedValues.Threshold("float32")));
        Assert.True(MaskedValues.IsMasked(-3.3895314e38f, MaskedValues.Threshold("bfloat16")));
    }

    [Fact]
    public void ColourBarLabelsStayShortForAnyRange()
    {
        foreach (var (lo, hi) in new[] { (-3.4e38, 3.4e38), (1e-9, 3e-9), (-123456789.0, 987654321.0), (0.0, 1.0), (-5e5, 5e5), (1e6, 1e6 + 3), (-1e-30, 0.0) })
        {
            var ticks = FigureCommon.NiceTicks(lo, hi, 600, 40);
            Assert.True(ticks.Labels.Length >= 1);
            Assert.All(ticks.Labels, l => Assert.True(l.Length <= NumberLabels.MaxChars, $"[{lo}, {hi}]: label '{l}' ({l.Length} chars)"));
            Assert.Equal(ticks.Labels.Length, ticks.Labels.Distinct().Count());
        }
        Assert.Equal(["−1.5", "0.0", "1.5"], NumberLabels.Format([-1.5, 0, 1.5], 0.5));
        Assert.Equal(["0", "2.5e6", "5.0e6"], NumberLabels.Format([0, 2.5e6, 5e6], 2.5e6));
        Assert.Equal(["1e−5", "2e−5"], NumberLabels.Format([1e-5, 2e-5], 1e-5));
    }

    [Fact]
    public void AllNaNGivesAFigureThatSaysNothingToDraw()
    {
        var values = Enumerable.Repeat(float.NaN, 36).ToArray();
        var spec = PaperFigures.Attention(AttentionPanel.Softmax, values, 6, 6, cellPixels: 8);
        var plan = HeatmapFigure.Plan(spec);
        Assert.True(plan.Scale.IsEmpty);
        Assert.Equal("nothing to draw: every value is NaN", plan.Message);
        var written = HeatmapFigure.Render(spec, Path.Combine(Repo.TempDir(), "empty"), ["png", "pdf", "svg"]);
        Assert.Equal(3, written.Count);
        Assert.Contains("nothing to draw", File.ReadAllText(written[2]));
        var masked = PaperFigures.Attention(AttentionPanel.Combined, Enumerable.Repeat(float.NegativeInfinity, 36).ToArray(), 6, 6);
        Assert.Equal("nothing to draw: every value is masked", HeatmapFigure.Plan(masked).Message);
    }
}
