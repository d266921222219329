using System.Globalization;
using Tta.Figures;
using Xunit.Abstractions;

namespace Tta.Tests.Figures;

/// <summary>
/// The nearest grid's colour bar spans the scores' own range, often a narrow one: it must still carry several readable
/// ticks (read back from the PDF's text as a reader sees it), not the single tick a plain round step leaves inside.
/// </summary>
[Trait("Lane", "Full")]
public class NearestColorbarTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(0.53, 0.97, 3)]        // inner products of a small model (the grid showed only "0.5")
    [InlineData(0.9612, 0.9688, 4)]    // a narrow range
    [InlineData(50.0, 62.5, 3)]        // squared distances (showed only "50")
    [InlineData(1234.5, 1236.2, 13)]   // large and narrow, a 13-layer model
    [InlineData(-3.2, 11.7, 7)]
    [InlineData(0.0, 1.0, 2)]
    public void NearestGridColourBarHasThreeOrMoreReadableTicks(double min, double max, int rows)
    {
        const int cols = 4;
        var scores = Enumerable.Range(0, rows * cols).Select(i => (float)(min + (max - min) * i / (rows * cols - 1))).ToArray();
        var labels = Enumerable.Range(0, rows * cols).Select(i => "tok").ToArray();
        var spec = new TokenGridSpec(labels, scores, rows, cols, "nearest token", ["The", "Ġquick", "Ġbrown", "Ġfox"],
            ColorbarLabel: "squared L2 distance");
        var pdf = TokenGridFigure.Render(spec, Path.Combine(Repo.TempDir(), "grid"), ["pdf"]).Single();
        var tool = PdfText.Require(log);
        if (tool is null) return;
        var layout = TokenGridFigure.ComputeLayout(spec);
        var right = (layout.Left + layout.DataWidth) * FigureFiles.PointsPerPixel(FigureFiles.DefaultDpi);
        var ticks = PdfText.Words(tool, pdf).Where(w => w.XMin > right)
            .Select(w => (Word: w, Ok: double.TryParse(w.Text.Replace('−', '-'), NumberStyles.Float, CultureInfo.InvariantCulture, out var v), Value: v))
            .Where(t => t.Ok).OrderBy(t => t.Word.YMid).ToList();
        log.WriteLine($"[{min}, {max}], {rows} rows: {string.Join(" ", ticks.Select(t => t.Word.Text))}");
        Assert.True(ticks.Count >= 3, $"colour bar ticks: {string.Join(", ", ticks.Select(t => t.Word.Text))}");
        var tolerance = (max - min) * 1e-6;
        Assert.All(ticks, t => Assert.InRange(t.Value, min - tolerance, max + tolerance));
        Assert.Equal(ticks.Count, ticks.Select(t => t.Word.Text).Distinct().Count());
        // Larger values higher up, and no two labels overlapping.
        for (var i = 1; i < ticks.Count; i++)
        {
            Assert.True(ticks[i].Value < ticks[i - 1].Value, $"{ticks[i].Word.Text} is below {ticks[i - 1].Word.Text}");
            Assert.True(ticks[i].Word.YMin >= ticks[i - 1].Word.YMax, $"labels {ticks[i - 1].Word.Text} and {ticks[i].Word.Text} overlap");
        }
    }
}
