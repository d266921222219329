using System.Globalization;
using Tta.Figures;
using Tta.Store;

namespace Tta.Metrics.LogitLens;

/// <summary>The <c>logit_lens</c> figures (logit_lens.parquet): the classic grid, one per hidden-state series.</summary>
public static class LogitLensFigures
{
    /// <summary>What the figure's file stem and gallery record name the grid by.</summary>
    public const string What = "top1";

    /// <summary>
    /// Rows = layers (from the first to the last stored one), columns = positions, cell = the most probable token
    /// (its id as <c>#id</c> where the file has no string), colour = its probability.
    /// </summary>
    public static List<FigureJob> Render(FigureContext c, string parquet)
    {
        var (metadata, rows) = LogitLensStore.Read(parquet);
        var points = StoredPoints.Read(metadata, parquet);
        var jobs = new List<FigureJob>();
        foreach (var g in rows.Where(r => r.Rank == 0)
                     .GroupBy(r => (Series: points[new ActivationPoint(r.Point, r.Stack, r.Layer)].Path, r.Stack))
                     .OrderBy(g => g.Key.Stack, StringComparer.Ordinal).ThenBy(g => g.Key.Series, StringComparer.Ordinal))
        {
            var cells = TokenGridCells.Of([.. g.Select(r => (r.Layer, r.Position, r.Token ?? "#" + r.TokenId.ToString(CultureInfo.InvariantCulture), r.Probability))]);
            var spec = new TokenGridSpec(cells.Labels, cells.Scores, cells.Rows, cells.Cols,
                Title: c.Title(g.Key.Stack, g.Key.Series, "logit lens (top token)"),
                ColumnTokens: c.Labels(g.Key.Stack, cells.Cols), ColorbarLabel: "probability", Colormap: c.Spec.Colormap, FirstRow: cells.FirstRow);
            var record = FigureRecord.Of(new ActivationPoint(g.Key.Series, g.Key.Stack, -1), LogitLensKind.Key, What);
            var stem = record.KindStem();
            jobs.Add(new FigureJob(stem, () => TokenGridFigure.Render(spec, c.Path(stem), c.Spec.Formats, c.Spec.Dpi, c.Thumbnails), Record: record));
        }
        return jobs;
    }
}
