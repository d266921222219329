using System.Globalization;
using System.Text;
using ScottPlot;
using ScottPlot.Panels;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using SkiaSharp;
using Tta.Cache;

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
{
    public int DataWidth => Width - Left - Right;

    public int DataHeight => Height - Top - Bottom;
}

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

    private const float TitleSize = 16;
    private const float LabelSize = 14;
    private const float IndexTickSize = 11;
    private const float ColorbarTickSize = 11;
    private const float TickLength = 4;
    private const float HorizontalTickGap = 2; // ScottPlot's gap between an x tick mark and its label
    private const float VerticalTickGap = 5;   // ... between a y tick mark and its label
    private const float LabelGap = 4;          // between tick labels and the axis label
    private const float Outer = 10;            // empty border around the figure
    private const float ColorbarGap = 12;      // between the data area and the colorbar
    private const float ColorbarWidth = 16;

    /// <summary>
    /// Writes <c>pathWithoutExtension.{format}</c> for each requested format (png, pdf, svg; case-insensitive,
    /// duplicates ignored), each atomically. Returns the written paths in request order. Identical inputs give
    /// byte-identical PNG and PDF files.
    /// </summary>
    public static IReadOnlyList<string> Render(HeatmapSpec spec, string pathWithoutExtension, IReadOnlyList<string> formats)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(pathWithoutExtension);
        ArgumentNullException.ThrowIfNull(formats);
        var wanted = new List<string>();
        foreach (var f in formats)
        {
            var format = (f ?? "").Trim().TrimStart('.').ToLowerInvariant();
            if (!Formats.Contains(format))
                throw new ArgumentException($"unknown figure format '{f}'; expected one of {string.Join(", ", Formats)}", nameof(formats));
            if (!wanted.Contains(format))
                wanted.Add(format);
        }
        if (wanted.Count == 0)
            throw new ArgumentException("no figure format requested", nameof(formats));

        var plan = Plan(spec);
        var written = new List<string>(wanted.Count);
        foreach (var format in wanted)
        {
            var path = pathWithoutExtension + "." + format;
            switch (format)
            {
                case "png":
                    {
                        using var plot = Build(spec, plan, vector: false);
                        var bytes = plot.GetImageBytes(plan.Layout.Width, plan.Layout.Height, ImageFormat.Png);
                        AtomicFile.WriteAllBytes(path, bytes);
                        break;
                    }
                case "svg":
                    {
                        using var plot = Build(spec, plan, vector: true);
                        AtomicFile.WriteAllText(path, plot.GetSvgXml(plan.Layout.Width, plan.Layout.Height));
                        break;
                    }
                case "pdf":
                    {
                        using var plot = Build(spec, plan, vector: true);
                        AtomicFile.Write(path, stream => WritePdf(plot, spec, plan.Layout, stream));
                        break;
                    }
            }
            written.Add(path);
        }
        return written;
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

    private sealed record AxisTicks(double[] Positions, string[] Labels, float FontSize, bool Rotated);

    private sealed record FigurePlan(HeatmapLayout Layout, IColormap Colormap, double Min, double Max,
        AxisTicks X, AxisTicks Y, AxisTicks ColorbarTicks,
        float LeftPanel, float BottomPanel, float TitlePanel, float ColorbarPanel);

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

        var (min, max) = ValueRange(spec.Values);
        int cell = spec.CellPixels;
        float dataW = spec.Cols * cell, dataH = spec.Rows * cell;

        var x = MakeTicks(spec.XTicks, spec.Cols, cell, horizontal: true, flip: false);
        var y = MakeTicks(spec.YTicks, spec.Rows, cell, horizontal: false, flip: true);
        var cb = ColorbarTicks(min, max, dataH);

        using var tickFontX = FigureFont.CreateFont(x.FontSize);
        using var tickFontY = FigureFont.CreateFont(y.FontSize);
        using var cbFont = FigureFont.CreateFont(ColorbarTickSize);
        using var labelFont = FigureFont.CreateFont(LabelSize);
        using var titleFont = FigureFont.CreateFont(TitleSize);

        float xTickExtent = x.Labels.Length == 0 ? 0
            : x.Rotated ? MaxWidth(tickFontX, x.Labels) : tickFontX.Spacing;
        float yTickExtent = MaxWidth(tickFontY, y.Labels);
        float cbTickExtent = MaxWidth(cbFont, cb.Labels);
        float labelLine = labelFont.Spacing;

        float AxisLabelBand(string text) => string.IsNullOrEmpty(text) ? 0 : LabelGap + labelLine;

        float bottomPanel = TickLength + HorizontalTickGap + xTickExtent + AxisLabelBand(spec.XLabel) + Outer;
        float leftPanel = TickLength + VerticalTickGap + yTickExtent + AxisLabelBand(spec.YLabel) + Outer;
        float titlePanel = string.IsNullOrEmpty(spec.Title) ? Outer : titleFont.Spacing + 6 + Outer;
        float colorbarPanel = ColorbarWidth + TickLength + VerticalTickGap + cbTickExtent
            + AxisLabelBand(spec.ColorbarLabel) + Outer;

        float left = leftPanel, right = ColorbarGap + colorbarPanel, top = titlePanel, bottom = bottomPanel;

        // Labels are centred on the data area; widen the margins where a long label would run off the image.
        float widest = Math.Max(Width(titleFont, spec.Title), Width(labelFont, spec.XLabel)) + 2 * Outer;
        float tallest = Math.Max(Width(labelFont, spec.YLabel), Width(labelFont, spec.ColorbarLabel)) + 2 * Outer;
        var extraW = Math.Max(0, (widest - dataW) / 2);
        left = Math.Max(left, extraW);
        right = Math.Max(right, extraW);
        var extraH = Math.Max(0, (tallest - dataH) / 2);
        top = Math.Max(top, extraH);
        bottom = Math.Max(bottom, extraH);

        int l = (int)MathF.Ceiling(left), r = (int)MathF.Ceiling(right), t = (int)MathF.Ceiling(top), b = (int)MathF.Ceiling(bottom);
        var layout = new HeatmapLayout(l + spec.Cols * cell + r, t + spec.Rows * cell + b, l, t, r, b, cell);
        return new FigurePlan(layout, colormap, min, max, x, y, cb, l, b, t, r - ColorbarGap);
    }

    private static (double Min, double Max) ValueRange(float[] values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
                continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (double.IsPositiveInfinity(min))
            (min, max) = (0, 1);
        else if (min == max)
            (min, max) = (min - 0.5, max + 0.5);
        return (min, max);
    }

    private static AxisTicks MakeTicks(IReadOnlyList<string>? tokens, int count, int cell, bool horizontal, bool flip)
    {
        // Cell i spans [i, i + 1) in plot units, from the left (x) or from the top (y, where row 0 is at the top).
        double Position(int i) => flip ? count - i - 0.5 : i + 0.5;
        var positions = new List<double>();
        var labels = new List<string>();
        if (tokens is not null)
        {
            float size = Math.Clamp(cell - 2, 7, 11);
            using var font = FigureFont.CreateFont(size);
            var step = TickStep(count, tokens: true, cell, font.Spacing);
            for (var i = 0; i < count; i += step)
            {
                positions.Add(Position(i));
                labels.Add(TickLabel(tokens[i]));
            }
            return new AxisTicks([.. positions], [.. labels], size, Rotated: horizontal);
        }
        else
        {
            using var font = FigureFont.CreateFont(IndexTickSize);
            float spacing = horizontal
                ? font.MeasureText((count - 1).ToString(CultureInfo.InvariantCulture)) + 12
                : font.Spacing + 4;
            var step = TickStep(count, tokens: false, cell, spacing);
            for (var i = 0; i < count; i += step)
            {
                positions.Add(Position(i));
                labels.Add(i.ToString(CultureInfo.InvariantCulture));
            }
            return new AxisTicks([.. positions], [.. labels], IndexTickSize, Rotated: false);
        }
    }

    /// <summary>Round-numbered colorbar ticks inside [min, max], about one per 40 px of bar.</summary>
    private static AxisTicks ColorbarTicks(double min, double max, float barPixels)
    {
        var span = max - min;
        var target = Math.Clamp((int)(barPixels / 40), 2, 10);
        var raw = span / target;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw * (1 - 1e-9));
        var decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        var positions = new List<double>();
        var labels = new List<string>();
        for (var k = Math.Ceiling(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
        {
            var v = k * step;
            if (Math.Abs(v) < step * 1e-9)
                v = 0;
            positions.Add(v);
            labels.Add(v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
        }
        return new AxisTicks([.. positions], [.. labels], ColorbarTickSize, Rotated: false);
    }

    private static float Width(SKFont font, string text) => string.IsNullOrEmpty(text) ? 0 : font.MeasureText(text);

    private static float MaxWidth(SKFont font, string[] texts) => texts.Length == 0 ? 0 : texts.Max(t => font.MeasureText(t));

    private static Plot Build(HeatmapSpec spec, FigurePlan plan, bool vector)
    {
        var layout = plan.Layout;
        var plot = new Plot();
        try
        {
            plot.FigureBackground.Color = Colors.White;
            plot.DataBackground.Color = Colors.White;

            var data = new double[spec.Rows, spec.Cols];
            for (var r = 0; r < spec.Rows; r++)
                for (var c = 0; c < spec.Cols; c++)
                {
                    var v = spec.Values[r * spec.Cols + c];
                    data[r, c] = float.IsFinite(v) ? v : double.NaN;
                }
            var heatmap = plot.Add.Heatmap(data);
            heatmap.Colormap = plan.Colormap;
            heatmap.Rectangle = new CoordinateRect(0, spec.Cols, 0, spec.Rows);
            heatmap.FlipVertically = false;
            heatmap.Smooth = false;
            heatmap.ManualRange = new ScottPlot.Range(plan.Min, plan.Max);
            heatmap.NaNCellColor = Colors.LightGray;
            if (vector && (long)spec.Rows * spec.Cols <= MaxVectorCells)
                heatmap.RenderStrategy = new Heatmap.RenderStrategies.Rectangles();

            plot.Grid.IsVisible = false;
            plot.Axes.SetLimits(0, spec.Cols, 0, spec.Rows);
            plot.Layout.Fixed(new PixelPadding(layout.Left, layout.Right, layout.Bottom, layout.Top));

            StyleAxis(plot.Axes.Bottom, plan.X, spec.XLabel, plan.BottomPanel);
            if (plan.X.Rotated)
            {
                plot.Axes.Bottom.TickLabelStyle.Rotation = -90;
                plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            }
            StyleAxis(plot.Axes.Left, plan.Y, spec.YLabel, plan.LeftPanel);

            // Top and right axes only hold space (no ticks, no frame: the data border draws the box).
            foreach (var axis in new IAxis[] { plot.Axes.Top, plot.Axes.Right })
            {
                axis.TickGenerator = new NumericManual();
                axis.IsVisible = false;
                axis.MinimumSize = axis.MaximumSize = 0;
            }
            plot.Axes.Right.MinimumSize = plot.Axes.Right.MaximumSize = ColorbarGap;

            var title = plot.Axes.Title;
            title.Label.Text = spec.Title;
            title.Label.FontSize = TitleSize;
            title.Label.Bold = false;
            title.Label.ForeColor = Colors.Black;
            FigureFont.Apply(title.Label);
            title.IsVisible = !string.IsNullOrEmpty(spec.Title);
            title.MinimumSize = title.MaximumSize = plan.TitlePanel;

            var colorbar = new ColorBar(heatmap, Edge.Right)
            {
                Width = ColorbarWidth,
                MinimumSize = plan.ColorbarPanel,
                MaximumSize = plan.ColorbarPanel,
            };
            colorbar.Axis.TickGenerator = new NumericManual(plan.ColorbarTicks.Positions, plan.ColorbarTicks.Labels);
            StyleAxisText(colorbar.Axis, ColorbarTickSize, spec.ColorbarLabel);
            colorbar.Axis.FrameLineStyle.Width = 1;
            plot.Axes.AddPanel(colorbar);

            plot.DataBorder.Width = 1;
            plot.DataBorder.Color = Colors.Black;
            plot.DataBorder.AntiAlias = false;
            return plot;
        }
        catch
        {
            plot.Dispose();
            throw;
        }
    }

    private static void StyleAxis(IAxis axis, AxisTicks ticks, string label, float panelSize)
    {
        axis.TickGenerator = new NumericManual(ticks.Positions, ticks.Labels);
        StyleAxisText(axis, ticks.FontSize, label);
        axis.FrameLineStyle.Width = 0;
        axis.MinimumSize = axis.MaximumSize = panelSize;
    }

    private static void StyleAxisText(IAxis axis, float tickFontSize, string label)
    {
        axis.TickLabelStyle.FontSize = tickFontSize;
        axis.TickLabelStyle.ForeColor = Colors.Black;
        FigureFont.Apply(axis.TickLabelStyle);
        axis.Label.Text = label;
        axis.Label.FontSize = LabelSize;
        axis.Label.Bold = false;
        axis.Label.ForeColor = Colors.Black;
        FigureFont.Apply(axis.Label);
        axis.MajorTickStyle.Length = TickLength;
        axis.MinorTickStyle.Length = 0;
        if (axis is ScottPlot.AxisPanels.AxisBase panel)
        {
            panel.PaddingOutsideAxisLabels = new PixelPadding(Outer / 2); // per side: the label sits Outer from the edge
        }
    }

    private static void WritePdf(Plot plot, HeatmapSpec spec, HeatmapLayout layout, Stream stream)
    {
        // No creation/modification dates and no PDF/A (whose XMP id is time-based): identical input, identical bytes.
        var metadata = new SKDocumentPdfMetadata
        {
            Title = spec.Title,
            Creator = "tta",
            Producer = "tta (ScottPlot, SkiaSharp)",
            Creation = null,
            Modified = null,
            PdfA = false,
            RasterDpi = SKDocument.DefaultRasterDpi,
            EncodingQuality = 101,
        };
        using var document = SKDocument.CreatePdf(stream, metadata)
            ?? throw new InvalidOperationException("SkiaSharp could not create a PDF document");
        var canvas = document.BeginPage(layout.Width, layout.Height);
        plot.Render(canvas, layout.Width, layout.Height);
        document.EndPage();
        document.Close();
    }
}
