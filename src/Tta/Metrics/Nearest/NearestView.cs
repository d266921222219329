using System.Globalization;
using Tta.Store;
using Tta.Explorer;
using Tta.Extract;
using Tta.Figures;

namespace Tta.Metrics.Nearest;

/// <summary>The nearest tokens on the explorer's trajectory hover, from nearest.parquet.</summary>
public static class NearestView
{
    /// <summary>How many nearest tokens the hover shows at most.</summary>
    public const int MaxNearest = 5;

    /// <summary>
    /// Per series: measure → hidden-state index → position → token ids, best first; their strings (read as the text's
    /// tokens are, so it is read after the similarity view) go once into the model's token table.
    /// </summary>
    public static void Add(ExplorerSet set, string parquet)
    {
        var byteLevel = TokenLabels.IsByteLevel(set.Tokens);
        var table = set.TokenTable(byteLevel ? "byte-level" : "plain");
        var (metadata, rows) = NearestRows.Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var result = new Dictionary<string, ViewEntry>(StringComparer.Ordinal);
        foreach (var series in rows.GroupBy(r => points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path, StringComparer.Ordinal)
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var k = Math.Min(MaxNearest, series.Max(r => r.Rank) + 1);
            var byMeasure = new SortedDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<long>>>>(StringComparer.Ordinal);
            foreach (var measure in series.GroupBy(r => r.Measure, StringComparer.Ordinal))
            {
                var byLayer = new SortedDictionary<string, IReadOnlyList<IReadOnlyList<long>>>(StringComparer.Ordinal);
                foreach (var layer in measure.GroupBy(r => r.Layer))
                {
                    var positions = layer.Max(r => r.Position) + 1;
                    var lists = Enumerable.Range(0, positions).Select(_ => new List<long>()).ToList();
                    foreach (var r in layer.Where(r => r.Rank < k).OrderBy(r => r.Position).ThenBy(r => r.Rank))
                        lists[r.Position].Add(table.Add(r.TokenId, r.Token is null ? "#" + r.TokenId.ToString(CultureInfo.InvariantCulture) : TokenLabels.Readable(r.Token, byteLevel)));
                    byLayer[layer.Key.ToString(CultureInfo.InvariantCulture)] = lists;
                }
                byMeasure[measure.Key] = byLayer;
            }
            result[series.Key] = new NearestEntry(k, table.Index, byMeasure);
        }
        set.Nearest = result;
    }
}
