using ScottPlot;

namespace Tta.Figures;

/// <summary>Renders <see cref="TokenGridSpec"/>s to PNG, SVG and one-page vector PDF, deterministically and atomically.</summary>
public static class TokenGridFigure
{
    public static IReadOnlyList<string> Render(TokenGridSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats,
        int dpi = FigureFiles.DefaultDpi, bool thumbnails = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var plan = Plan(spec);
        return FigureCommon.WriteAll(pathWithoutExtension, formats, plan.Layout, spec.Title, (vector, overlay) => Build(spec, plan, vector, overlay),
            plan.CellText.Concat(FigureCommon.Texts(plan.X, plan.Y, plan.ColorbarTicks)).Concat([spec.XLabel, spec.YLabel, spec.ColorbarLabel]), dpi, thumbnails);
    }

    public static FigureLayout ComputeLayout(TokenGridSpec spec) => Plan(spec).Layout;

    /// <summary>Font size of the cell text for a cell this tall.</summary>
    public static float CellFontSize(int cellHeight) => Math.Clamp(cellHeight - 8, 6, 11);

    /// <summary>
    /// The text a cell shows: <paramref name="label"/> (already readable, see <see cref="TokenLabels"/>) cut (by text
    /// element) with '…' until it is at most <paramref name="maxWidth"/> pixels wide as drawn at <paramref name="fontSize"/>
    /// (in the pinned font, or shaped in fallback fonts where it needs them).
    /// </summary>
    public static string FitLabel(string label, float fontSize, float maxWidth)
    {
        ArgumentNullException.ThrowIfNull(label);
        var text = label;
        using var font = FigureFont.CreateFont(fontSize);
        if (LabelText.Measure(font, text) <= maxWidth)
            return text;
        var core = text.EndsWith('…') ? text[..^1] : text;
        var elements = System.Globalization.StringInfo.ParseCombiningCharacters(core);
        for (var n = elements.Length - 1; n >= 1; n--)
        {
            var candidate = core[..elements[n]] + "…";
            if (LabelText.Measure(font, candidate) <= maxWidth)
                return candidate;
        }
        return "…";
    }

    private sealed record GridPlan(FigureLayout Layout, ColorScale Scale, FigureTicks X,
        FigureTicks Y, FigureTicks ColorbarTicks, float ColorbarPanel, string[] CellText, float FontSize);

    private static GridPlan Plan(TokenGridSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec.Labels);
        ArgumentNullException.ThrowIfNull(spec.Scores);
        if (spec.Rows <= 0 || spec.Cols <= 0)
            throw new ArgumentException($"a token grid needs at least one row and column (got {spec.Rows}x{spec.Cols})");
        var cells = (long)spec.Rows * spec.Cols;
        if (spec.Labels.Length != cells || spec.Scores.Length != cells)
            throw new ArgumentException($"token grid holds {spec.Labels.Length} labels and {spec.Scores.Length} scores, not {spec.Rows}x{spec.Cols}");
        if (spec.ColumnTokens is not null && spec.ColumnTokens.Count != spec.Cols)
            throw new ArgumentException($"{spec.ColumnTokens.Count} column tokens for {spec.Cols} columns");
        if (spec.CellWidth < 8 || spec.CellHeight < 8)
            throw new ArgumentException($"cells must be at least 8x8 pixels (got {spec.CellWidth}x{spec.CellHeight})");
        var colormap = Colormaps.Get(spec.Colormap);
        FigureFont.EnsureRegistered();

        var scale = ColorScale.For(spec.Scores, colormap);

        int dataW = spec.Cols * spec.CellWidth, dataH = spec.Rows * spec.CellHeight;
        var x = spec.ColumnTokens is not null
            ? WithIndex(FigureCommon.TokenTicks(spec.ColumnTokens, spec.CellWidth, horizontal: true), spec.ColumnTokens.Count)
            : FigureCommon.IndexTicks(0, spec.Cols, spec.CellWidth, centred: true);
        var y = FigureCommon.IndexTicks(spec.FirstRow, spec.Rows, spec.CellHeight, centred: true, flip: true);
        var cb = FigureCommon.ColorbarTicks(scale.Min, scale.Max, dataH);
        var cbPanel = FigureCommon.ColorbarPanelWidth(cb, spec.ColorbarLabel);
        var layout = FigureCommon.Layout(dataW, dataH, x, y, spec.Title, spec.XLabel, spec.YLabel,
            FigureCommon.ColorbarGap + cbPanel, spec.ColorbarLabel);

        var fontSize = CellFontSize(spec.CellHeight);
        // Cell tokens and column tokens come from one vocabulary: decoded together (byte-level or not).
        var readable = TokenLabels.Labels([.. spec.Labels.Select(l => l ?? ""), .. spec.ColumnTokens ?? []], maxChars: 0);
        var text = readable.Take(spec.Labels.Length).Select(l => FitLabel(l, fontSize, spec.CellWidth - 4)).ToArray();
        return new GridPlan(layout, scale, x, y, cb, cbPanel, text, fontSize);
    }

    /// <summary>Token tick labels prefixed with their position ("3 quick"), which the grid's cells do not show.</summary>
    private static FigureTicks WithIndex(FigureTicks ticks, int count) =>
        ticks with
        {
            Labels = [.. ticks.Labels.Select((l, i) => $"{(int)Math.Floor(ticks.Positions[i])} {l}")],
        };

    private static Plot Build(TokenGridSpec spec, GridPlan plan, bool vector, LabelOverlay overlay)
    {
        var layout = plan.Layout;
        return FigureCommon.Drawn(FigureCommon.NewPlot(layout, spec.Title, plan.X, plan.Y, spec.XLabel, spec.YLabel,
            0, spec.Cols, 0, spec.Rows, FigureCommon.ColorbarGap, overlay), plot =>
        {
            var heatmap = FigureCommon.AddHeatmap(plot, spec.Scores, spec.Rows, spec.Cols, plan.Scale, vector);

            for (var r = 0; r < spec.Rows; r++)
                for (var c = 0; c < spec.Cols; c++)
                {
                    var label = plan.CellText[r * spec.Cols + c];
                    if (label.Length == 0)
                        continue;
                    var v = spec.Scores[r * spec.Cols + c];
                    var cell = plan.Scale.ColorOf(v);
                    var background = new Color(cell.Red, cell.Green, cell.Blue);
                    var text = plot.Add.Text(label, c + 0.5, spec.Rows - r - 0.5);
                    text.LabelFontSize = plan.FontSize;
                    text.LabelFontName = overlay.FontName;
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontColor = FigureCommon.Luminance(background) > 0.35 ? Colors.Black : Colors.White;
                    text.LabelBold = false;
                    overlay.Take(text);
                }

            FigureCommon.AddColorbar(plot, heatmap, plan.ColorbarTicks, spec.ColorbarLabel, plan.ColorbarPanel, overlay.FontName);
        });
    }
}
