using ScottPlot;
using ScottPlot.Plottables;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// The labels of a ScottPlot figure that the pinned font cannot draw alone (<see cref="LabelText.NeedsShaping"/>: CJK,
/// emoji, Arabic …). ScottPlot draws text with one typeface and no shaping, so these labels are handed to it blank (its
/// layout is fixed beforehand from <see cref="LabelText.Measure"/>) and drawn here after it renders, with the heatmaps'
/// fallback fonts, HarfBuzz shaping and bidi (<see cref="LabelText"/>), where and how ScottPlot would have put them: the
/// same anchor pixel, alignment box (font spacing tall, advance width wide), baseline and rotation. A legend with such a
/// label is drawn here whole, in ScottPlot's legend style. Figures whose labels the pinned font draws alone leave the
/// overlay empty and their bytes as they were. It also says which font name the plot's own labels ask ScottPlot for.
/// </summary>
/// <param name="fontName">The font name of the plot's ScottPlot labels: <see cref="FigureFont.Name"/>, or for a PDF its
/// <see cref="FigureFont.SubsetName"/> (the PDF then embeds only the glyphs drawn).</param>
internal sealed class LabelOverlay(string fontName)
{
    private readonly List<Entry> entries = [];
    private readonly List<LegendEntry> legend = [];

    /// <summary>One label: its text, where it is anchored once the plot has rendered, and its style.</summary>
    private sealed record Entry(string Text, Func<PixelRect, Pixel> Anchor, Func<Look> Style, bool ClipToData);

    /// <summary>What of ScottPlot's <see cref="LabelStyle"/> places and colours a label.</summary>
    private sealed record Look(float FontSize, Color Color, Alignment Alignment, float Rotation, float OffsetX, float OffsetY)
    {
        public static Look Of(LabelStyle s) => new(s.FontSize, s.ForeColor, s.Alignment, s.Rotation, s.OffsetX, s.OffsetY);
    }

    /// <summary>A legend row: the label and the line and marker that stand for its series.</summary>
    private sealed record LegendEntry(string Text, Color Color, float LineWidth, float MarkerSize);

    public bool IsEmpty => entries.Count == 0 && legend.Count == 0;

    /// <summary>The font name the plot's ScottPlot labels ask for (<see cref="FigureFont.Apply"/>).</summary>
    public string FontName { get; } = fontName;

    /// <summary>Every text the overlay draws (for the PDF's font subsets).</summary>
    public IEnumerable<string> Texts => entries.Select(e => e.Text).Concat(legend.Select(l => l.Text));

    /// <summary>Takes over a text plottable whose label needs shaping (leaving it blank); others are left to ScottPlot.</summary>
    public void Take(Text text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var label = text.LabelText;
        if (!LabelText.NeedsShaping(label)) return;
        var style = Look.Of(text.LabelStyle);
        text.LabelText = "";
        // Text plottables are drawn clipped to the data area, at their location plus their offset.
        entries.Add(new Entry(label, rect =>
        {
            var px = text.Axes.GetPixel(text.Location);
            return new Pixel(px.X + text.OffsetX, px.Y + text.OffsetY);
        }, () => style, ClipToData: true));
    }

    /// <summary>
    /// The tick labels ScottPlot should draw on <paramref name="axis"/>: those that need shaping are blank, and drawn
    /// here where ScottPlot puts a tick label (tick length plus 2 pixels below a bottom axis, plus 5 left of a left one),
    /// in the axis's tick label style at render time (rotation and alignment may be set after this call).
    /// </summary>
    public string[] Ticks(IAxis axis, FigureTicks ticks)
    {
        ArgumentNullException.ThrowIfNull(axis);
        ArgumentNullException.ThrowIfNull(ticks);
        var labels = (string[])ticks.Labels.Clone();
        for (var i = 0; i < labels.Length; i++)
        {
            if (!LabelText.NeedsShaping(labels[i])) continue;
            var position = ticks.Positions[i];
            var edge = axis.Edge;
            entries.Add(new Entry(labels[i], rect =>
            {
                var along = axis.GetPixel(position, rect);
                var gap = axis.MajorTickStyle.Length + (edge.IsVertical() ? 5 : 2);
                return edge switch
                {
                    Edge.Bottom => new Pixel(along, rect.Bottom + gap),
                    Edge.Top => new Pixel(along, rect.Top - gap),
                    Edge.Left => new Pixel(rect.Left - gap, along),
                    _ => new Pixel(rect.Right + gap, along),
                };
            }, () => TickStyle(axis), ClipToData: false));
            labels[i] = "";
        }
        return labels;
    }

    /// <summary>ScottPlot's tick label style of the axis, with the alignment it gives unrotated labels.</summary>
    private static Look TickStyle(IAxis axis)
    {
        var style = Look.Of(axis.TickLabelStyle);
        return style.Rotation != 0 ? style : style with
        {
            Alignment = axis.Edge switch
            {
                Edge.Bottom => Alignment.UpperCenter,
                Edge.Top => Alignment.LowerCenter,
                Edge.Left => Alignment.MiddleRight,
                _ => Alignment.MiddleLeft,
            },
        };
    }

    /// <summary>
    /// When a series label of <paramref name="lines"/> needs shaping, hides ScottPlot's legend and draws it here instead,
    /// in its style and place; otherwise leaves the legend to ScottPlot.
    /// </summary>
    public void TakeLegend(Plot plot, IReadOnlyList<Scatter> lines)
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentNullException.ThrowIfNull(lines);
        if (!plot.Legend.IsVisible || !lines.Any(l => LabelText.NeedsShaping(l.LegendText ?? ""))) return;
        foreach (var line in lines.Where(l => !string.IsNullOrEmpty(l.LegendText)))
            legend.Add(new LegendEntry(line.LegendText, line.LineColor, line.LineWidth, line.MarkerSize));
        plot.Legend.IsVisible = false;
    }

    /// <summary>
    /// Draws the labels onto <paramref name="canvas"/>, on which <paramref name="plot"/> has just rendered.
    /// <paramref name="subsets"/> (a PDF's fonts) and <paramref name="target"/> are as for <see cref="LabelText.Draw"/>.
    /// </summary>
    public void Draw(SKCanvas canvas, Plot plot, LabelSubsets? subsets, FigureTarget target)
    {
        if (IsEmpty) return;
        var dataRect = plot.RenderManager.LastRender.DataRect;
        foreach (var entry in entries)
        {
            var style = entry.Style();
            canvas.Save();
            if (entry.ClipToData) canvas.ClipRect(dataRect.ToSKRect());
            Draw(canvas, entry.Text, entry.Anchor(dataRect), style, subsets, target);
            canvas.Restore();
        }
        if (legend.Count > 0) DrawLegend(canvas, plot, dataRect, subsets, target);
    }

    /// <summary>
    /// One label as ScottPlot's <see cref="LabelStyle"/> places it: rotated about the anchor, a box of the text's width
    /// and the font's spacing aligned to the anchor, the baseline the font's bottom above the box's lower edge.
    /// </summary>
    private static void Draw(SKCanvas canvas, string text, Pixel anchor, Look style, LabelSubsets? subsets, FigureTarget target)
    {
        var shaped = LabelText.Shape(text, style.FontSize);
        using var metricsFont = new SKFont(FigureFont.Typeface, style.FontSize);
        var spacing = metricsFont.GetFontMetrics(out var metrics);
        var left = -shaped.Width * style.Alignment.HorizontalFraction();
        var bottom = spacing * style.Alignment.VerticalFraction();
        using var paint = new SKPaint { Color = style.Color.ToSKColor(), IsAntialias = true, Style = SKPaintStyle.Fill };
        canvas.Save();
        canvas.Translate(anchor.X + style.OffsetX, anchor.Y + style.OffsetY);
        canvas.RotateDegrees(style.Rotation);
        LabelText.Draw(canvas, shaped, left, bottom - metrics.Bottom, style.FontSize, paint, subsets, asPaths: target == FigureTarget.Svg);
        canvas.Restore();
    }

    /// <summary>
    /// The legend as ScottPlot draws a single-column one, from its own settings (padding, symbol size, outline, shadow,
    /// background): a box inside the data area's upper right corner at its margin; per row a line (and marker) swatch,
    /// then the label.
    /// </summary>
    private void DrawLegend(SKCanvas canvas, Plot plot, PixelRect dataRect, LabelSubsets? subsets, FigureTarget target)
    {
        var l = plot.Legend;
        var fontSize = l.FontSize ?? FigureCommon.TickSize;
        using var metricsFont = new SKFont(FigureFont.Typeface, fontSize);
        var textHeight = metricsFont.GetFontMetrics(out var metrics);
        var rowHeight = Math.Max(textHeight, l.SymbolHeight);
        var shaped = legend.Select(e => LabelText.Shape(e.Text, fontSize)).ToList();
        var padding = l.Padding;
        var symbol = l.SymbolWidth;
        var gap = l.SymbolPadding;
        var rowGap = l.InterItemPadding.Vertical;
        var width = padding.Horizontal + symbol + gap + shaped.Max(s => s.Width);
        var height = padding.Vertical + legend.Count * rowHeight + (legend.Count - 1) * rowGap;
        var margin = l.Margin;
        var right = dataRect.Right - margin.Right;
        var top = dataRect.Top + margin.Top;
        var box = new SKRect(right - width, top, right, top + height);

        using var fill = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        fill.Color = l.ShadowColor.ToSKColor();
        var shadow = box;
        shadow.Offset(l.ShadowOffset.X, l.ShadowOffset.Y);
        canvas.DrawRect(shadow, fill);
        fill.Color = l.BackgroundColor.ToSKColor();
        canvas.DrawRect(box, fill);
        using var outline = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Stroke, Color = l.OutlineColor.ToSKColor(), StrokeWidth = l.OutlineWidth };
        canvas.DrawRect(box, outline);

        using var text = new SKPaint { Color = (l.FontColor ?? Colors.Black).ToSKColor(), IsAntialias = true, Style = SKPaintStyle.Fill };
        for (var i = 0; i < legend.Count; i++)
        {
            var entry = legend[i];
            var rowTop = box.Top + padding.Top + i * (rowHeight + rowGap);
            var middle = rowTop + rowHeight / 2;
            var x = box.Left + padding.Left;
            using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, Color = entry.Color.ToSKColor(), StrokeWidth = entry.LineWidth };
            canvas.DrawLine(x, middle, x + symbol, middle, stroke);
            if (entry.MarkerSize > 0)
            {
                using var marker = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill, Color = entry.Color.ToSKColor() };
                canvas.DrawCircle(x + symbol / 2, middle, entry.MarkerSize / 2, marker);
            }
            LabelText.Draw(canvas, shaped[i], x + symbol + gap, middle + textHeight / 2 - metrics.Bottom, fontSize, text, subsets, asPaths: target == FigureTarget.Svg);
        }
    }
}
