using System.Globalization;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// Renders <see cref="HeatmapSpec"/>s to PNG, PDF and SVG, drawn straight on a SkiaSharp canvas: the matrix is one
/// image of one pixel per cell scaled nearest-neighbour (in the PDF an image XObject at cell resolution, as
/// matplotlib's <c>imshow</c>), text and axes are vector. Every token is labelled up to <see cref="AllTokensUpTo"/>
/// tokens, with the label font sized to the cell; beyond that, or where cells are too small for a legible label, a
/// regular subset is labelled and a caption says so. Masked and NaN cells take a neutral colour outside the colormap,
/// named under the colour bar; a matrix with nothing to colour gives a figure that says so.
/// </summary>
public static class HeatmapFigure
{
    /// <summary>Up to this many rows/columns every token is labelled (when cells are tall enough); beyond it, every k-th.</summary>
    public const int AllTokensUpTo = 512;

    /// <summary>Token label font size per pixel of the label pitch (cell × step): DejaVu's ink fits without touching.</summary>
    public const float TokenFontPerPixel = 0.82f;

    /// <summary>Smallest token label font, in pixels; smaller cells get every k-th token labelled.</summary>
    public const float MinTokenFont = 6.5f;

    /// <summary>SVG draws up to this many cells as rectangles; above it, one image (PNG and PDF always use one image).</summary>
    public const int MaxVectorCells = 256 * 256;

    public static readonly IReadOnlyList<string> Formats = ["png", "pdf", "svg"];

    /// <summary>
    /// Writes <c>pathWithoutExtension.{format}</c> for each requested format (png, pdf, svg; case-insensitive,
    /// duplicates ignored), each atomically. Returns the written paths in request order. Identical inputs give
    /// byte-identical files. <paramref name="dpi"/> sets the PDF page size (pixels × 72 / dpi points) and the PNG's
    /// stated resolution. With <paramref name="thumbnails"/>, each PNG also gets its thumbnail (<see cref="Thumbnails"/>),
    /// listed after it.
    /// </summary>
    public static IReadOnlyList<string> Render(HeatmapSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats,
        int dpi = FigureFiles.DefaultDpi, bool thumbnails = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(pathWithoutExtension);
        FigureCommon.ParseFormats(formats); // a bad format is reported before a bad spec
        var plan = Plan(spec);
        return FigureFiles.WriteAll(pathWithoutExtension, formats, plan.Layout, string.Join(" ", plan.TitleLines), dpi, thumbnails, plan.Texts,
            (canvas, typeface, subsets, target) => new HeatmapPainter(spec, plan, canvas, typeface, subsets, target).Draw());
    }

    /// <summary>The figure geometry <see cref="Render"/> will use for this spec.</summary>
    public static HeatmapLayout ComputeLayout(HeatmapSpec spec) => Plan(spec).Layout;

    /// <summary>
    /// Which rows/columns of an axis of <paramref name="count"/> cells get a label. Token axes: every one up to
    /// <see cref="AllTokensUpTo"/>, beyond it every ⌈count / AllTokensUpTo⌉-th, and then the smallest regular step
    /// that puts labels at least <paramref name="minSpacingPx"/> apart. Numeric axes: a step from 1, 2, 5, 10, 20, …
    /// that keeps labels <paramref name="minSpacingPx"/> apart.
    /// </summary>
    public static int TickStep(int count, bool tokens, int cellPixels, float minSpacingPx)
    {
        var step = 1;
        if (tokens && count > AllTokensUpTo)
            step = (int)Math.Ceiling(count / (double)AllTokensUpTo);
        while (step * (double)cellPixels < minSpacingPx && step < count)
            step = tokens ? step + 1 : NextNice(step);
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

    /// <summary>
    /// Size of the figure's own text (title, axis labels, colour bar) per pixel of a reference 640-pixel map: it grows
    /// with the map, up to 4×, so that a 6000-pixel map does not carry a title a hundredth of its width.
    /// </summary>
    public static float TextScale(int dataWidth, int dataHeight) => Math.Clamp(Math.Max(dataWidth, dataHeight) / 640f, 1f, 4f);

    /// <summary>"1st", "2nd", "3rd", "4th", … "11th", "12th", "13th", "21st".</summary>
    public static string Ordinal(int n)
    {
        var suffix = (n % 100) is 11 or 12 or 13 ? "th" : (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" };
        return n.ToString(CultureInfo.InvariantCulture) + suffix;
    }

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

    internal static HeatmapPlan Plan(HeatmapSpec spec)
    {
        Validate(spec);
        var colormap = Colormaps.Get(spec.Colormap);
        var scale = ColorScale.For(spec.Values, colormap, spec.MaskThreshold, spec.CentredOnZero);
        int cell = spec.CellPixels, dataW = spec.Cols * cell, dataH = spec.Rows * cell;
        var s = TextScale(dataW, dataH);
        float titleSize = 16 * s, labelSize = 14 * s, tickSize = 11 * s, lineWidth = Math.Max(1, MathF.Round(0.8f * s));

        var x = AxisTicks(spec.XTicks, spec.Cols, cell, tickSize, horizontal: true);
        var y = AxisTicks(spec.YTicks, spec.Rows, cell, tickSize, horizontal: false);
        var colorbar = FigureCommon.NiceTicks(scale.Min, scale.Max, dataH, 40 * s);
        var caption = Caption(spec, x, y);
        var legend = scale.MaskedLegend;
        var message = scale.IsEmpty
            ? $"nothing to draw: {(scale.NaNCount == spec.Values.Length ? "every value is NaN" : scale.NaNCount == 0 ? "every value is masked" : "every value is NaN or masked")}"
            : null;

        using var tick = HeatmapPainter.Font(FigureFont.Typeface, tickSize);
        using var label = HeatmapPainter.Font(FigureFont.Typeface, labelSize);
        using var titleFont = HeatmapPainter.Font(FigureFont.Typeface, titleSize);
        using var xFont = HeatmapPainter.Font(FigureFont.Typeface, x.FontSize);
        using var yFont = HeatmapPainter.Font(FigureFont.Typeface, y.FontSize);
        float outer = 10 * s, gap = 4 * s;
        float Band(SKFont f, string text) => string.IsNullOrEmpty(text) ? 0 : gap + f.Spacing;
        // Token labels stand vertically under the x axis; numbers lie horizontally.
        var xExtent = x.Tokens ? FigureCommon.MaxWidth(xFont, x.Labels) : xFont.Spacing;
        var yExtent = FigureCommon.MaxWidth(yFont, y.Labels);
        var cbExtent = FigureCommon.MaxWidth(tick, colorbar.Labels);

        float left = outer + Band(label, spec.YLabel) + yExtent + y.Gap + y.TickLength + lineWidth;
        float bottom = lineWidth + x.TickLength + x.Gap + xExtent + Band(label, spec.XLabel)
            + (caption is null ? 0 : gap + tick.Spacing) + outer;
        float cbWidth = 16 * s, cbGap = 12 * s;
        float right = cbGap + cbWidth + lineWidth + tickSize * 0.4f + gap + cbExtent + Band(label, spec.ColorbarLabel) + outer;
        if (legend is not null)
        {
            // A swatch of the masked colour and its name under the colour bar.
            var swatch = tick.Spacing;
            right = Math.Max(right, cbGap + swatch + gap + FigureCommon.Width(tick, legend) + outer);
            bottom = Math.Max(bottom, tickSize + swatch + outer);
        }
        // Text that must fit across the figure: the axis label and the caption.
        var widest = Math.Max(FigureCommon.Width(label, spec.XLabel), FigureCommon.Width(tick, caption)) + 2 * outer;
        float width = left + dataW + right;
        // The title may widen a small figure up to 600 pixels (× text scale), then wraps at its " · " separators.
        var titleFull = FigureCommon.Width(titleFont, spec.Title) + 2 * outer;
        widest = Math.Max(widest, Math.Min(titleFull, 600 * s));
        var titleLines = WrapTitle(spec.Title, titleFont, Math.Max(width, widest) - 2 * outer);
        widest = Math.Max(widest, FigureCommon.MaxWidth(titleFont, titleLines) + 2 * outer);
        if (widest > width)
        {
            left += (widest - width) / 2;
            right += (widest - width) / 2;
        }
        float top = outer + (titleLines.Count == 0 ? 0 : titleLines.Count * titleFont.Spacing + gap);
        // The y axis label is centred on the data area: a label taller than the map pushes the margins apart.
        var tallest = Math.Max(FigureCommon.Width(label, spec.YLabel), FigureCommon.Width(label, spec.ColorbarLabel)) + 2 * outer;
        if (tallest > dataH + top + bottom)
        {
            var extra = (tallest - dataH - top - bottom) / 2;
            top += extra;
            bottom += extra;
        }

        int l = (int)MathF.Ceiling(left), r = (int)MathF.Ceiling(right), t = (int)MathF.Ceiling(top), b = (int)MathF.Ceiling(bottom);
        var layout = new HeatmapLayout(l + dataW + r, t + dataH + b, l, t, r, b, cell);
        var texts = new List<string>(x.Labels.Length + y.Labels.Length + 16);
        texts.AddRange(titleLines);
        texts.AddRange([spec.XLabel, spec.YLabel, spec.ColorbarLabel, caption ?? "", legend ?? "", message ?? "", ":"]);
        texts.AddRange(x.Labels);
        texts.AddRange(y.Labels);
        texts.AddRange(colorbar.Labels);
        return new HeatmapPlan(layout, scale, titleSize, labelSize, tickSize, lineWidth, titleLines, x, y, colorbar,
            xExtent, yExtent, cbExtent, cbGap, cbWidth, gap, outer, caption, legend, message, texts);
    }

    /// <summary>Ticks of the x (columns, left to right) or y axis (rows, top to bottom), positions in cells from the start.</summary>
    private static HeatmapAxisTicks AxisTicks(IReadOnlyList<string>? tokens, int count, int cell, float tickSize, bool horizontal)
    {
        if (tokens is not null)
        {
            var step = TickStep(count, tokens: true, cell, MinTokenFont / TokenFontPerPixel);
            var font = Math.Min(TokenFontPerPixel * cell * step, Math.Max(11f, tickSize));
            var labels = TokenLabels.Labels(tokens);
            var positions = new List<double>();
            var shown = new List<string>();
            for (var i = 0; i < count; i += step)
            {
                positions.Add(i + 0.5);
                shown.Add(labels[i]);
            }
            return new HeatmapAxisTicks([.. positions], [.. shown], font, step, Tokens: true,
                TickLength: Math.Max(2, 0.4f * font), Gap: Math.Max(1.5f, 0.25f * font));
        }
        float spacing;
        using (var f = HeatmapPainter.Font(FigureFont.Typeface, tickSize))
            spacing = horizontal ? f.MeasureText((count - 1).ToString(CultureInfo.InvariantCulture)) + 1.2f * tickSize : f.Spacing + 0.4f * tickSize;
        var numericStep = TickStep(count, tokens: false, cell, spacing);
        var at = new List<double>();
        var text = new List<string>();
        for (var i = 0; i < count; i += numericStep)
        {
            at.Add(i + 0.5);
            text.Add(i.ToString(CultureInfo.InvariantCulture));
        }
        return new HeatmapAxisTicks([.. at], [.. text], tickSize, numericStep, Tokens: false,
            TickLength: 0.4f * tickSize, Gap: 0.3f * tickSize);
    }

    /// <summary>The caption that says which tokens are labelled when not all are; null when all are.</summary>
    private static string? Caption(HeatmapSpec spec, HeatmapAxisTicks x, HeatmapAxisTicks y)
    {
        var xs = x.Tokens && x.Step > 1;
        var ys = y.Tokens && y.Step > 1;
        if (!xs && !ys) return null;
        if (xs && ys && x.Step == y.Step && spec.Rows == spec.Cols)
            return $"Every {Ordinal(x.Step)} of the {spec.Cols} tokens is labelled.";
        var parts = new List<string>();
        if (xs) parts.Add($"{Name(spec.XLabel, "columns")}: every {Ordinal(x.Step)} of {spec.Cols} tokens");
        if (ys) parts.Add($"{Name(spec.YLabel, "rows")}: every {Ordinal(y.Step)} of {spec.Rows} tokens");
        return "Labelled: " + string.Join("; ", parts) + ".";

        static string Name(string label, string fallback) => string.IsNullOrWhiteSpace(label) ? fallback : label;
    }

    /// <summary>Greedy lines of the title's " · "-separated parts, each at most <paramref name="maxWidth"/> wide if it can be.</summary>
    private static List<string> WrapTitle(string title, SKFont font, float maxWidth)
    {
        if (string.IsNullOrEmpty(title)) return [];
        const string separator = " · ";
        var lines = new List<string>();
        var current = "";
        foreach (var part in title.Split(separator))
        {
            var candidate = current.Length == 0 ? part : current + separator + part;
            if (current.Length > 0 && LabelText.Measure(font, candidate) > maxWidth)
            {
                lines.Add(current);
                current = part;
            }
            else
            {
                current = candidate;
            }
        }
        lines.Add(current);
        return lines;
    }
}
