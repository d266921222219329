using System.Globalization;
using Tta.Store;
using Tta.Extract;
using Tta.Figures;

namespace Tta.Metrics.Nearest;

/// <summary>The <c>nearest</c> figures (nearest.parquet): one token grid per hidden-state series and measure.</summary>
public static class NearestFigures
{
    /// <summary>What a measure of nearest.parquet is, for titles, colorbars and captions.</summary>
    public static string MeasureLabel(string measure) => measure switch
    {
        "ip" => "inner product",
        "l2" => "squared L2 distance",
        _ => measure,
    };

    /// <summary>
    /// One token grid per (hidden-state series, measure) of nearest.parquet: rows = layers (from the first to the last
    /// stored one; a layer that is not stored is a grey row), columns = positions, cell = the rank-1 vocabulary token
    /// (its id as <c>#id</c> where the file has no string), colour = its score.
    /// </summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var (metadata, stored) = NearestRows.Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var rows = stored.Where(r => r.Rank == 0);
        var jobs = new List<FigureJob>();
        var series = rows.GroupBy(r => (Series: points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path, r.Stack, r.Measure))
            .OrderBy(g => g.Key.Stack, StringComparer.Ordinal).ThenBy(g => g.Key.Series, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Measure, StringComparer.Ordinal);
        foreach (var g in series)
        {
            var cells = TokenGridCells.Of([.. g.Select(r => (r.Layer, r.Position, r.Token ?? "#" + r.TokenId.ToString(CultureInfo.InvariantCulture), (float)r.Score))]);
            var measureLabel = MeasureLabel(g.Key.Measure);
            var spec = new TokenGridSpec(cells.Labels, cells.Scores, cells.Rows, cells.Cols,
                Title: c.Title(g.Key.Stack, g.Key.Series, $"nearest token ({measureLabel})"),
                ColumnTokens: c.Labels(g.Key.Stack, cells.Cols), ColorbarLabel: measureLabel, Colormap: c.Spec.Colormap, FirstRow: cells.FirstRow);
            var record = FigureRecord.Of(new ActivationPoint(g.Key.Series, g.Key.Stack, -1), NearestKind.Key, g.Key.Measure);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => TokenGridFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi, c.Thumbnails), Record: record));
        }
        return jobs;
    }
}
