using System.Globalization;
using Tta.Explorer;
using Tta.Extract;
using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.LogitLens;

/// <summary>The explorer's Logit lens view, from logit_lens.parquet: one <see cref="LogitLensEntry"/> per hidden-state series.</summary>
public static class LogitLensView
{
    /// <summary>How many of the most probable tokens the hover lists at most (the file may hold up to 100).</summary>
    public const int MaxShown = 10;

    /// <summary>
    /// Per series (as the static grid groups them): the top tokens of every layer × position and the next token's rank
    /// and probability; token strings (read as the text's tokens are, so it is read after the similarity view) go once
    /// into the model's token table, shared with the nearest tokens.
    /// </summary>
    public static void Add(ExplorerSet set, string parquet)
    {
        var byteLevel = TokenLabels.IsByteLevel(set.Tokens);
        var table = set.TokenTable(byteLevel ? "byte-level" : "plain");
        long Id(long id, string? token) =>
            table.Add(id, token is null ? "#" + id.ToString(CultureInfo.InvariantCulture) : TokenLabels.Readable(token, byteLevel));
        var (metadata, rows) = LogitLensStore.Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var entries = new List<ViewEntry>();
        foreach (var series in rows.GroupBy(r => (Series: points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path, r.Stack))
                     .OrderBy(g => g.Key.Stack, StringComparer.Ordinal).ThenBy(g => g.Key.Series, StringComparer.Ordinal))
        {
            var k = Math.Min(MaxShown, series.Max(r => r.Rank) + 1);
            int[] layers = [.. series.Select(r => r.Layer).Distinct().Order()];
            var positions = series.Max(r => r.Position) + 1;
            var cells = layers.Length * positions;
            var (ids, probabilities) = (new long[cells * k], new float[cells * k]);
            var (next, nextRanks, nextProbabilities) = (new long?[positions], new int?[cells], new float?[cells]);
            var layerIndex = layers.Select((layer, i) => (layer, i)).ToDictionary(x => x.layer, x => x.i);
            foreach (var r in series.Where(r => r.Rank < k))
            {
                var cell = layerIndex[r.Layer] * positions + r.Position;
                ids[cell * k + r.Rank] = Id(r.TokenId, r.Token);
                probabilities[cell * k + r.Rank] = Rounded(r.Probability);
                if (r.Rank != 0) continue;
                nextRanks[cell] = r.NextRank;
                nextProbabilities[cell] = r.NextProbability is { } p ? Rounded(p) : null;
                if (r.NextTokenId is { } n) next[r.Position] = Id(n, r.NextToken);
            }
            entries.Add(new LogitLensEntry(series.Key.Series, series.Key.Stack, k, table.Index, layers, positions, ids, probabilities,
                next, nextRanks, nextProbabilities));
        }
        set.LogitLens = entries;
    }

    /// <summary>A probability to 3 significant digits (what the hover shows; a third of the page's bytes of full floats).</summary>
    public static float Rounded(float p) => float.Parse(p.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
