using System.Globalization;
using ScottPlot;
using ScottPlot.Panels;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using SkiaSharp;
using Tta.Core;

namespace Tta.Figures;

/// <summary>
/// Shared machinery of the figures (<see cref="HeatmapFigure"/>, <see cref="BarChartFigure"/>, <see cref="LineFigure"/>,
/// <see cref="TokenGridFigure"/>): format parsing, margin layout from measured text, axis styling, deterministic
/// PNG/SVG/PDF output written atomically.
/// </summary>
internal static partial class FigureCommon
{
    public const float TitleSize = 16;
    public const float LabelSize = 14;
    public const float TickSize = 11;
    public const float TickLength = 4;
    public const float HorizontalTickGap = 2;
    public const float VerticalTickGap = 5;
    public const float LabelGap = 4;
    public const float Outer = 10;
    public const float ColorbarGap = 12;
    public const float ColorbarWidth = 16;

    /// <summary>Lower-cased, de-duplicated formats in request order; unknown ones are an error.</summary>
    public static List<string> ParseFormats(IReadOnlyList<string> formats)
    {
        ArgumentNullException.ThrowIfNull(formats);
        var wanted = new List<string>();
        foreach (var f in formats)
        {
            var format = (f ?? "").Trim().TrimStart('.').ToLowerInvariant();
            if (!HeatmapFigure.Formats.Contains(format))
                throw new ArgumentException($"unknown figure format '{f}'; expected one of {string.Join(", ", HeatmapFigure.Formats)}", nameof(formats));
            if (!wanted.Contains(format))
                wanted.Add(format);
        }
        if (wanted.Count == 0)
            throw new ArgumentException("no figure format requested", nameof(formats));
        return wanted;
    }

    /// <summary>
    /// Writes <c>pathWithoutExtension.{format}</c> for each format, atomically, through <see cref="FigureFiles"/>;
    /// <paramref name="build"/> makes a fresh plot (arguments: true for vector output, and the overlay that takes the
    /// labels ScottPlot cannot draw and names the font of those it draws, <see cref="LabelOverlay"/>). <paramref name="texts"/>
    /// are the strings the plot draws: its PDF embeds the pinned font reduced to them (and printable ASCII), and the fonts
    /// of the overlay's labels reduced to their glyphs. With <paramref name="thumbnails"/>, the PNG's thumbnail follows it.
    /// </summary>
    public static IReadOnlyList<string> WriteAll(string pathWithoutExtension, IReadOnlyList<string> formats,
        FigureLayout layout, string title, Func<bool, LabelOverlay, Plot> build, IEnumerable<string> texts, int dpi, bool thumbnails)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathWithoutExtension);
        var wanted = ParseFormats(formats);
        var written = new List<string>(wanted.Count);
        foreach (var format in wanted)
        {
            var path = pathWithoutExtension + "." + format;
            switch (format)
            {
                case "png":
                {
                    var overlay = new LabelOverlay(FigureFont.Name);
                    using var plot = build(false, overlay);
                    written.AddRange(FigureFiles.WritePng(path, layout.Width, layout.Height, dpi, thumbnails, canvas =>
                    {
                        plot.Render(canvas, layout.Width, layout.Height);
                        overlay.Draw(canvas, plot, null, FigureTarget.Png);
                    }));
                    continue;
                }
                case "svg":
                {
                    var overlay = new LabelOverlay(FigureFont.Name);
                    using var plot = build(true, overlay);
                    if (overlay.IsEmpty)
                        AtomicFile.WriteAllText(path, FigureFiles.NumberSvgIds(plot.GetSvgXml(layout.Width, layout.Height)));
                    else
                        AtomicFile.WriteAllBytes(path, FigureFiles.Svg(layout.Width, layout.Height, canvas =>
                        {
                            plot.Render(canvas, layout.Width, layout.Height);
                            overlay.Draw(canvas, plot, null, FigureTarget.Svg);
                        }));
                    break;
                }
                case "pdf":
                {
                    // Labels name the subset font; the PDF embeds only its glyphs.
                    var overlay = new LabelOverlay(FigureFont.SubsetName(texts.Append(title)));
                    using (var plot = build(true, overlay))
                    using (var subsets = overlay.IsEmpty ? null : LabelSubsets.Create(overlay.Texts))
                        AtomicFile.Write(path, stream => FigureFiles.Pdf(stream, title, layout.Width, layout.Height, dpi, canvas =>
                        {
                            plot.Render(canvas, layout.Width, layout.Height);
                            overlay.Draw(canvas, plot, subsets, FigureTarget.Pdf);
                        }));
                    break;
                }
            }
            written.Add(path);
        }
        return written;
    }

    /// <summary>Every label of the ticks.</summary>
    public static IEnumerable<string> Texts(params FigureTicks[] ticks) => ticks.SelectMany(t => t.Labels);

    public static float Width(SKFont font, string? text) => string.IsNullOrEmpty(text) ? 0 : LabelText.Measure(font, text);

    public static float MaxWidth(SKFont font, IEnumerable<string> texts)
    {
        var max = 0f;
        foreach (var t in texts)
            max = Math.Max(max, Width(font, t));
        return max;
    }

    /// <summary>
    /// Margins around a data area of <paramref name="dataW"/> x <paramref name="dataH"/> pixels that hold the title,
    /// tick labels, axis labels and <paramref name="rightPanel"/> extra pixels on the right (colorbar, legend).
    /// </summary>
    public static FigureLayout Layout(int dataW, int dataH, FigureTicks x, FigureTicks y, string title, string xLabel,
        string yLabel, float rightPanel, string rightLabel = "")
    {
        FigureFont.EnsureRegistered();
        using var tickFontX = FigureFont.CreateFont(x.FontSize);
        using var tickFontY = FigureFont.CreateFont(y.FontSize);
        using var labelFont = FigureFont.CreateFont(LabelSize);
        using var titleFont = FigureFont.CreateFont(TitleSize);

        float xTickExtent = x.Labels.Length == 0 ? 0 : x.Rotated ? MaxWidth(tickFontX, x.Labels) : tickFontX.Spacing;
        float yTickExtent = MaxWidth(tickFontY, y.Labels);
        float AxisLabelBand(string text) => string.IsNullOrEmpty(text) ? 0 : LabelGap + labelFont.Spacing;

        float bottom = TickLength + HorizontalTickGap + xTickExtent + AxisLabelBand(xLabel) + Outer;
        float left = TickLength + VerticalTickGap + yTickExtent + AxisLabelBand(yLabel) + Outer;
        float top = string.IsNullOrEmpty(title) ? Outer : titleFont.Spacing + 6 + Outer;
        float right = Math.Max(Outer, rightPanel);

        // Rotated x labels hang left of their tick; a long first label must not run off the left edge.
        if (x.Rotated && x.Labels.Length > 0 && x.Positions.Length > 0)
            left = Math.Max(left, tickFontX.Spacing);
        float widest = Math.Max(Width(titleFont, title), Width(labelFont, xLabel)) + 2 * Outer;
        float tallest = Math.Max(Width(labelFont, yLabel), Width(labelFont, rightLabel)) + 2 * Outer;
        var extraW = Math.Max(0, (widest - dataW) / 2);
        left = Math.Max(left, extraW);
        right = Math.Max(right, extraW);
        var extraH = Math.Max(0, (tallest - dataH) / 2);
        top = Math.Max(top, extraH);
        bottom = Math.Max(bottom, extraH);

        int l = (int)MathF.Ceiling(left), r = (int)MathF.Ceiling(right), t = (int)MathF.Ceiling(top), b = (int)MathF.Ceiling(bottom);
        return new FigureLayout(l + dataW + r, t + dataH + b, l, t, r, b);
    }

    /// <summary>
    /// New plot with white backgrounds, no grid, fixed margins and the pinned font (as <paramref name="overlay"/> names it)
    /// on every axis; tick labels the pinned font cannot draw alone go to <paramref name="overlay"/>.
    /// </summary>
    public static Plot NewPlot(FigureLayout layout, string title, FigureTicks x, FigureTicks y, string xLabel, string yLabel,
        double xMin, double xMax, double yMin, double yMax, float rightPanel, LabelOverlay overlay)
    {
        FigureFont.EnsureRegistered();
        return Drawn(new Plot(), plot =>
        {
            plot.FigureBackground.Color = Colors.White;
            plot.DataBackground.Color = Colors.White;
            plot.Grid.IsVisible = false;
            plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
            plot.Layout.Fixed(new PixelPadding(layout.Left, layout.Right, layout.Bottom, layout.Top));

            StyleAxis(plot.Axes.Bottom, x, xLabel, layout.Bottom, overlay);
            if (x.Rotated)
            {
                plot.Axes.Bottom.TickLabelStyle.Rotation = -90;
                plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            }
            StyleAxis(plot.Axes.Left, y, yLabel, layout.Left, overlay);
            foreach (var axis in new IAxis[] { plot.Axes.Top, plot.Axes.Right })
            {
                axis.TickGenerator = new NumericManual();
                axis.IsVisible = false;
                axis.MinimumSize = axis.MaximumSize = 0;
            }
            plot.Axes.Right.MinimumSize = plot.Axes.Right.MaximumSize = rightPanel;

            var t = plot.Axes.Title;
            t.Label.Text = title;
            t.Label.FontSize = TitleSize;
            t.Label.Bold = false;
            t.Label.ForeColor = Colors.Black;
            FigureFont.Apply(t.Label, overlay.FontName);
            t.IsVisible = !string.IsNullOrEmpty(title);
            t.MinimumSize = t.MaximumSize = layout.Top;

            plot.DataBorder.Width = 1;
            plot.DataBorder.Color = Colors.Black;
            plot.DataBorder.AntiAlias = false;
        });
    }

    /// <summary>
    /// Runs <paramref name="draw"/> on <paramref name="plot"/>, a new plot, and returns it; if drawing fails the plot is
    /// disposed before the exception goes on.
    /// </summary>
    public static Plot Drawn(Plot plot, Action<Plot> draw)
    {
        try
        {
            draw(plot);
            return plot;
        }
        catch
        {
            plot.Dispose();
            throw;
        }
    }

    public static void StyleAxis(IAxis axis, FigureTicks ticks, string label, float panelSize, LabelOverlay overlay)
    {
        axis.TickGenerator = new NumericManual(ticks.Positions, overlay.Ticks(axis, ticks));
        StyleAxisText(axis, ticks.FontSize, label, overlay.FontName);
        axis.FrameLineStyle.Width = 0;
        axis.MinimumSize = axis.MaximumSize = panelSize;
    }

    public static void StyleAxisText(IAxis axis, float tickFontSize, string label, string fontName)
    {
        axis.TickLabelStyle.FontSize = tickFontSize;
        axis.TickLabelStyle.ForeColor = Colors.Black;
        FigureFont.Apply(axis.TickLabelStyle, fontName);
        axis.Label.Text = label;
        axis.Label.FontSize = LabelSize;
        axis.Label.Bold = false;
        axis.Label.ForeColor = Colors.Black;
        FigureFont.Apply(axis.Label, fontName);
        axis.MajorTickStyle.Length = TickLength;
        axis.MinorTickStyle.Length = 0;
        if (axis is ScottPlot.AxisPanels.AxisBase panel)
            panel.PaddingOutsideAxisLabels = new PixelPadding(Outer / 2);
    }

    /// <summary>
    /// Adds a row-major <paramref name="rows"/> x <paramref name="cols"/> matrix as a heatmap filling plot units
    /// [0, cols) x [0, rows), row 0 at the top, coloured by <paramref name="scale"/> (masked and NaN cells in its masked
    /// colour). Vector output draws one rectangle per cell up to <see cref="HeatmapFigure.MaxVectorCells"/>.
    /// </summary>
    public static Heatmap AddHeatmap(Plot plot, float[] values, int rows, int cols, ColorScale scale, bool vector)
    {
        var data = new double[rows, cols];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
            {
                var v = values[r * cols + c];
                data[r, c] = float.IsNaN(v) || MaskedValues.IsMasked(v, scale.Threshold) ? double.NaN : v;
            }
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = scale.Colormap;
        heatmap.Rectangle = new CoordinateRect(0, cols, 0, rows);
        heatmap.FlipVertically = false;
        heatmap.Smooth = false;
        heatmap.ManualRange = new ScottPlot.Range(scale.Min, scale.Max);
        heatmap.NaNCellColor = new Color(scale.Masked.Red, scale.Masked.Green, scale.Masked.Blue);
        if (vector && (long)rows * cols <= HeatmapFigure.MaxVectorCells)
            heatmap.RenderStrategy = new Heatmap.RenderStrategies.Rectangles();
        return heatmap;
    }

    /// <summary>A colorbar for <paramref name="heatmap"/> on the right, <paramref name="panelSize"/> pixels wide, its text in <paramref name="fontName"/>.</summary>
    public static void AddColorbar(Plot plot, Heatmap heatmap, FigureTicks ticks, string label, float panelSize, string fontName)
    {
        var colorbar = new ColorBar(heatmap, Edge.Right)
        {
            Width = ColorbarWidth,
            MinimumSize = panelSize,
            MaximumSize = panelSize,
        };
        colorbar.Axis.TickGenerator = new NumericManual(ticks.Positions, ticks.Labels);
        StyleAxisText(colorbar.Axis, ticks.FontSize, label, fontName);
        colorbar.Axis.FrameLineStyle.Width = 1;
        plot.Axes.AddPanel(colorbar);
    }

    /// <summary>Width a colorbar panel with these tick labels and axis label needs (excluding the gap before it).</summary>
    public static float ColorbarPanelWidth(FigureTicks ticks, string label)
    {
        using var cbFont = FigureFont.CreateFont(ticks.FontSize);
        using var labelFont = FigureFont.CreateFont(LabelSize);
        return ColorbarWidth + TickLength + VerticalTickGap + MaxWidth(cbFont, ticks.Labels)
            + (string.IsNullOrEmpty(label) ? 0 : LabelGap + labelFont.Spacing) + Outer;
    }

    /// <summary>WCAG relative luminance of a colour.</summary>
    public static double Luminance(Color c)
    {
        static double Linear(double s) => s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4);
        return 0.2126 * Linear(c.R / 255.0) + 0.7152 * Linear(c.G / 255.0) + 0.0722 * Linear(c.B / 255.0);
    }
}
