using System.Globalization;
using System.Text;
using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// A matrix to draw as a heatmap. <paramref name="Values"/> is row-major (<c>Values[r * Cols + c]</c>), row 0 is drawn
/// at the top. <paramref name="XTicks"/>/<paramref name="YTicks"/> label columns/rows (e.g. tokens; null: numeric
/// indices). Every cell is <paramref name="CellPixels"/> square, so the image grows with the matrix.
/// </summary>
public sealed record HeatmapSpec(
    float[] Values,
    int Rows,
    int Cols,
    string Title,
    string XLabel,
    string YLabel,
    IReadOnlyList<string>? XTicks,
    IReadOnlyList<string>? YTicks,
    string Colormap,
    int CellPixels,
    string ColorbarLabel);

/// <summary>
/// Where things go in a rendered heatmap, in pixels (PNG) or points (PDF, one unit per pixel). The data area, which
/// holds exactly Cols x Rows cells of CellPixels each, spans x in [Left, Width - Right) and y in [Top, Height - Bottom).
/// </summary>
public sealed record HeatmapLayout(int Width, int Height, int Left, int Top, int Right, int Bottom, int CellPixels)
    : FigureLayout(Width, Height, Left, Top, Right, Bottom);

/// <summary>Renders <see cref="HeatmapSpec"/>s to PNG, SVG (ScottPlot) and single-page vector PDF (SkiaSharp).</summary>
public static class HeatmapFigure
{
    /// <summary>Token labels longer than this many characters are cut and end with an ellipsis.</summary>
    public const int MaxTickChars = 12;

    /// <summary>Up to this many rows/columns every token is labelled; beyond it, every k-th.</summary>
    public const int AllTokensUpTo = 128;

    /// <summary>Above this many cells SVG/PDF draw the matrix as one image instead of one rectangle per cell.</summary>
    public const int MaxVectorCells = 256 * 256;

    public static readonly IReadOnlyList<string> Formats = ["png", "pdf", "svg"];

    /// <summary>
    /// Writes <c>pathWithoutExtension.{format}</c> for each requested format (png, pdf, svg; case-insensitive,
    /// duplicates ignored), each atomically. Returns the written paths in request order. Identical inputs give
    /// byte-identical PNG and PDF files.
    /// </summary>
    public static IReadOnlyList<string> Render(HeatmapSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(pathWithoutExtension);
        FigureCommon.ParseFormats(formats); // a bad format is reported before a bad spec
        var plan = Plan(spec);
        return FigureCommon.WriteAll(pathWithoutExtension, formats, plan.Layout, spec.Title, vector => Build(spec, plan, vector));
    }

    /// <summary>The figure geometry <see cref="Render"/> will use for this spec.</summary>
    public static HeatmapLayout ComputeLayout(HeatmapSpec spec) => Plan(spec).Layout;

    /// <summary>
    /// Shortens a token for an axis label: control characters become visible escapes (\n, \t, ...), a label of
    /// only spaces shows them as '␣', and more than <see cref="MaxTickChars"/> characters are cut with '…'.
    /// </summary>
    public static string TickLabel(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var sb = new StringBuilder(token.Length);
        foreach (var rune in token.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (Rune.IsControl(rune))
                        sb.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:X2}");
                    else
                        sb.Append(rune.ToString());
                    break;
            }
        }
        var text = sb.ToString();
        if (text.Length > 0 && string.IsNullOrWhiteSpace(text))
            text = new string('␣', text.Length);
        var elements = StringInfo.ParseCombiningCharacters(text);
        if (elements.Length > MaxTickChars)
            text = text[..elements[MaxTickChars]] + "…";
        return text;
    }

    /// <summary>
    /// Which rows/columns of an axis of <paramref name="count"/> cells get a label: all when labels are tokens and
    /// <paramref name="count"/> ≤ <see cref="AllTokensUpTo"/> and they fit, otherwise every step-th, with step from
    /// 1, 2, 5, 10, 20, 50, ... chosen so labels are at least <paramref name="minSpacingPx"/> apart.
    /// </summary>
    public static int TickStep(int count, bool tokens, int cellPixels, float minSpacingPx)
    {
        var step = 1;
        if (tokens && count > AllTokensUpTo)
            step = NiceAtLeast((int)Math.Ceiling(count / (double)AllTokensUpTo));
        while (step * (double)cellPixels < minSpacingPx && step < count)
            step = NextNice(step);
        return step;
    }

    private static int NiceAtLeast(int n)
    {
        var step = 1;
        while (step < n)
            step = NextNice(step);
        return step;
    }

    private static int NextNice(int step)
    {
        var magnitude = 1;
        while (magnitude * 10 <= step)
            magnitude *= 10;
        var lead = step / magnitude;
        return lead < 2 ? 2 * magnitude : lead < 5 ? 5 * magnitude : 10 * magnitude;
    }

    private sealed record FigurePlan(HeatmapLayout Layout, IColormap Colormap, double Min, double Max,
        FigureTicks X, FigureTicks Y, FigureTicks ColorbarTicks, float ColorbarPanel);

    private static void Validate(HeatmapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec.Values);
        if (spec.Rows <= 0 || spec.Cols <= 0)
            throw new ArgumentException($"heatmap needs at least one row and column (got {spec.Rows}x{spec.Cols})");
        if ((long)spec.Rows * spec.Cols != spec.Values.Length)
            throw new ArgumentException($"heatmap values hold {spec.Values.Length} entries, not {spec.Rows}x{spec.Cols}");
        if (spec.CellPixels < 1)
            throw new ArgumentException($"CellPixels must be at least 1 (got {spec.CellPixels})");
        if (spec.XTicks is not null && spec.XTicks.Count != spec.Cols)
            throw new ArgumentException($"{spec.XTicks.Count} x tick labels for {spec.Cols} columns");
        if (spec.YTicks is not null && spec.YTicks.Count != spec.Rows)
            throw new ArgumentException($"{spec.YTicks.Count} y tick labels for {spec.Rows} rows");
    }

    private static FigurePlan Plan(HeatmapSpec spec)
    {
        Validate(spec);
        var colormap = Colormaps.Get(spec.Colormap);
        FigureFont.EnsureRegistered();

        var (min, max) = FigureCommon.ValueRange(spec.Values);
        int cell = spec.CellPixels;
        var x = Ticks(spec.XTicks, spec.Cols, cell, horizontal: true);
        var y = Ticks(spec.YTicks, spec.Rows, cell, horizontal: false);
        var cb = FigureCommon.NiceTicks(min, max, spec.Rows * cell);
        var cbPanel = FigureCommon.ColorbarPanelWidth(cb, spec.ColorbarLabel);
        var common = FigureCommon.Layout(spec.Cols * cell, spec.Rows * cell, x, y, spec.Title, spec.XLabel, spec.YLabel,
            FigureCommon.ColorbarGap + cbPanel, spec.ColorbarLabel);
        var layout = new HeatmapLayout(common.Width, common.Height, common.Left, common.Top, common.Right, common.Bottom, cell);
        // The colorbar takes all of the right margin after the gap, including any widening for long labels.
        return new FigurePlan(layout, colormap, min, max, x, y, cb, layout.Right - FigureCommon.ColorbarGap);
    }

    /// <summary>Ticks of the x (horizontal: columns, left to right) or y axis (rows, row 0 at the top).</summary>
    private static FigureTicks Ticks(IReadOnlyList<string>? tokens, int count, int cell, bool horizontal)
    {
        if (tokens is not null)
            return FigureCommon.TokenTicks(tokens, cell, horizontal, flip: !horizontal);
        float spacing;
        using (var font = FigureFont.CreateFont(FigureCommon.TickSize))
        {
            spacing = horizontal
                ? font.MeasureText((count - 1).ToString(CultureInfo.InvariantCulture)) + 12
                : font.Spacing + 4;
        }
        return FigureCommon.IndexTicks(0, count, cell, centred: true, flip: !horizontal, minSpacingPx: spacing);
    }

    private static Plot Build(HeatmapSpec spec, FigurePlan plan, bool vector)
    {
        var plot = FigureCommon.NewPlot(plan.Layout, spec.Title, plan.X, plan.Y, spec.XLabel, spec.YLabel,
            0, spec.Cols, 0, spec.Rows, FigureCommon.ColorbarGap);
        try
        {
            var heatmap = FigureCommon.AddHeatmap(plot, spec.Values, spec.Rows, spec.Cols, plan.Colormap, plan.Min, plan.Max, vector);
            FigureCommon.AddColorbar(plot, heatmap, plan.ColorbarTicks, spec.ColorbarLabel, plan.ColorbarPanel);
            return plot;
        }
        catch
        {
            plot.Dispose();
            throw;
        }
    }
}
