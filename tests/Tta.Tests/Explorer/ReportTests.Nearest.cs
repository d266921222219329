using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics.Nearest;
using Tta.Store;

namespace Tta.Tests.Explorer;

/// <summary>The nearest tokens on the explorer page: token ids per entry, their strings once per model in a token table.</summary>
public partial class ReportTests
{
    [Fact]
    public void NearestTokensAreIdsIntoOneTokenTablePerModelHoldingTheStringsShownAndOnlyTheIdsUsed()
    {
        var html = File.ReadAllText(run.Page);
        using var data = JsonDocument.Parse(Regex.Match(html, """<script type="application/json" id="tta-data">(.*?)</script>""", RegexOptions.Singleline).Groups[1].Value);
        var tables = data.RootElement.GetProperty("tokenTables");
        // One model, two texts: one table, shared.
        Assert.Equal(1, tables.GetArrayLength());
        Assert.Equal("t5", tables[0].GetProperty("model").GetString());
        var table = tables[0].GetProperty("tokens").EnumerateObject().ToDictionary(p => long.Parse(p.Name, CultureInfo.InvariantCulture), p => p.Value.GetString()!);
        var used = new HashSet<long>();
        var sets = data.RootElement.GetProperty("sets").EnumerateArray().ToList();
        Assert.Equal(["one", "two"], sets.Select(s => s.GetProperty("text").GetString()));
        foreach (var set in sets)
        {
            var text = set.GetProperty("text").GetString()!;
            var parquet = run.Metrics(text, "nearest");
            var (metadata, rows) = NearestRows.Read(parquet);
            var points = StoredPoints.Read(metadata, parquet);
            var byteLevel = TokenLabels.IsByteLevel(Tokens(text));
            var entries = set.GetProperty("nearest").EnumerateObject().ToList();
            Assert.NotEmpty(entries);
            foreach (var series in entries)
            {
                Assert.Equal(0, series.Value.GetProperty("tokenTable").GetInt32());
                foreach (var measure in series.Value.GetProperty("byMeasure").EnumerateObject())
                    foreach (var layer in measure.Value.EnumerateObject())
                    {
                        var positions = layer.Value.EnumerateArray().ToList();
                        for (var position = 0; position < positions.Count; position++)
                        {
                            // Ids, never strings: the strings of every token × layer × rank were most of a real-size page.
                            Assert.All(positions[position].EnumerateArray(), id => Assert.Equal(JsonValueKind.Number, id.ValueKind));
                            var ids = positions[position].EnumerateArray().Select(id => id.GetInt64()).ToList();
                            var expected = rows.Where(r => points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path == series.Name && r.Measure == measure.Name
                                    && r.Layer.ToString(CultureInfo.InvariantCulture) == layer.Name && r.Position == position)
                                .OrderBy(r => r.Rank).Take(NearestView.MaxNearest).ToList();
                            Assert.Equal(expected.Select(r => r.TokenId), ids);
                            // The table shows each id as the text's tokens are shown (as the hover did with the strings inline).
                            foreach (var r in expected)
                                Assert.Equal(r.Token is null ? "#" + r.TokenId : TokenLabels.Readable(r.Token, byteLevel), table[r.TokenId]);
                            used.UnionWith(ids);
                        }
                    }
            }
        }
        Assert.Equal(used.Order(), table.Keys);
    }
}
