using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// Draws one <see cref="HeatmapPlan"/> on a canvas in pixels: the matrix as one image of one pixel per cell scaled
/// nearest-neighbour (SVG: rectangles for small matrices), frame, ticks, token or index labels, axis labels, title,
/// colour bar, masked legend, caption and "nothing to draw" message. Text uses <paramref name="typeface"/> (the pinned
/// font, or its subset for a PDF) with unhinted linear metrics, so glyph positions are the same in every format; labels
/// the pinned font cannot draw alone are shaped with fallback fonts (<see cref="LabelText"/>; a PDF's from
/// <paramref name="subsets"/>).
/// </summary>
internal sealed class HeatmapPainter(HeatmapSpec spec, HeatmapPlan plan, SKCanvas canvas, SKTypeface typeface, LabelSubsets? subsets,
    FigureTarget target)
{
    /// <summary>Baseline below a line's visual centre, per pixel of font size (half of DejaVu Sans' cap height).</summary>
    private const float CentreToBaseline = 0.36f;

    private readonly Dictionary<float, SKFont> _fonts = [];

    /// <summary>A font of <paramref name="typeface"/> as figures draw and measure it.</summary>
    public static SKFont Font(SKTypeface typeface, float size) => new(typeface, size)
    {
        Subpixel = true,
        Edging = SKFontEdging.Antialias,
        Hinting = SKFontHinting.None,
        LinearMetrics = true,
    };

    public void Draw()
    {
        try
        {
            var layout = plan.Layout;
            // A PNG's raster starts white; vector pages get a white background of their own.
            if (target != FigureTarget.Png)
                using (var white = new SKPaint { Color = SKColors.White, Style = SKPaintStyle.Fill })
                    canvas.DrawRect(0, 0, layout.Width, layout.Height, white);
            Matrix();
            Frame(DataRect);
            Axis(plan.X, horizontal: true);
            Axis(plan.Y, horizontal: false);
            AxisLabels();
            Title();
            if (!plan.Scale.IsEmpty) Colorbar();
            Legend();
            if (plan.Caption is { } caption)
            {
                var font = FontOf(plan.TickSize);
                Text(caption, plan.Outer, layout.Height - plan.Outer - font.Metrics.Descent, font, SKTextAlign.Left);
            }
            if (plan.Message is { } message)
            {
                // Two lines ("nothing to draw:" / why), shrunk to fit the map down to 7 pixels.
                var lines = message.Split(": ", 2);
                lines[0] += lines.Length > 1 ? ":" : "";
                float widest;
                using (var measure = Font(typeface, plan.TickSize))
                    widest = lines.Max(l => LabelText.Measure(measure, l));
                var font = FontOf(Math.Max(7, Math.Min(plan.TickSize, plan.TickSize * (DataRect.Width - 4) / widest)));
                var baseline = DataRect.MidY - (lines.Length - 1) * font.Spacing / 2 + CentreToBaseline * font.Size;
                foreach (var line in lines)
                {
                    Text(line, Clamp(DataRect.MidX, LabelText.Measure(font, line)), baseline, font, SKTextAlign.Center);
                    baseline += font.Spacing;
                }
            }
        }
        finally
        {
            foreach (var font in _fonts.Values) font.Dispose();
        }
    }

    private SKRect DataRect => SKRect.Create(plan.Layout.Left, plan.Layout.Top, spec.Cols * plan.Layout.CellPixels, spec.Rows * plan.Layout.CellPixels);

    private SKFont FontOf(float size)
    {
        if (!_fonts.TryGetValue(size, out var font))
            _fonts[size] = font = Font(typeface, size);
        return font;
    }

    private void Matrix()
    {
        var scale = plan.Scale;
        if (target == FigureTarget.Svg && (long)spec.Rows * spec.Cols <= HeatmapFigure.MaxVectorCells)
        {
            // Rectangles, one per run of equal colour along a row: exact at any zoom in every SVG viewer.
            using var fill = new SKPaint { Style = SKPaintStyle.Fill, IsAntialias = false };
            var cell = plan.Layout.CellPixels;
            for (var r = 0; r < spec.Rows; r++)
            {
                var c = 0;
                while (c < spec.Cols)
                {
                    var color = scale.ColorOf(spec.Values[r * spec.Cols + c]);
                    var end = c + 1;
                    while (end < spec.Cols && scale.ColorOf(spec.Values[r * spec.Cols + end]) == color) end++;
                    fill.Color = color;
                    canvas.DrawRect(plan.Layout.Left + c * cell, plan.Layout.Top + r * cell, (end - c) * cell, cell, fill);
                    c = end;
                }
            }
            return;
        }
        using var bitmap = scale.ToBitmap(spec.Values, spec.Rows, spec.Cols);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, DataRect, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None));
    }

    private SKPaint Stroke() => new() { Color = SKColors.Black, Style = SKPaintStyle.Stroke, StrokeWidth = plan.LineWidth, IsAntialias = false };

    /// <summary>A frame drawn just outside <paramref name="rect"/>, so it covers no cell.</summary>
    private void Frame(SKRect rect)
    {
        using var stroke = Stroke();
        var half = plan.LineWidth / 2;
        canvas.DrawRect(SKRect.Inflate(rect, half, half), stroke);
    }

    private void Axis(HeatmapAxisTicks ticks, bool horizontal)
    {
        var data = DataRect;
        var cell = plan.Layout.CellPixels;
        var font = FontOf(ticks.FontSize);
        using var stroke = Stroke();
        var outside = plan.LineWidth / 2;
        for (var i = 0; i < ticks.Positions.Length; i++)
        {
            var at = (float)(ticks.Positions[i] * cell);
            var label = ticks.Labels[i];
            if (horizontal)
            {
                var x = data.Left + at;
                var y = data.Bottom + outside;
                canvas.DrawLine(x, y, x, y + ticks.TickLength, stroke);
                var labelTop = y + ticks.TickLength + ticks.Gap;
                if (ticks.Tokens)
                    Text(label, x + CentreToBaseline * font.Size, labelTop, font, SKTextAlign.Right, vertical: true);
                else
                    Text(label, x, labelTop - font.Metrics.Ascent, font, SKTextAlign.Center);
            }
            else
            {
                var y = data.Top + at;
                var x = data.Left - outside;
                canvas.DrawLine(x, y, x - ticks.TickLength, y, stroke);
                Text(label, x - ticks.TickLength - ticks.Gap, y + CentreToBaseline * font.Size, font, SKTextAlign.Right);
            }
        }
    }

    private void AxisLabels()
    {
        var data = DataRect;
        var font = FontOf(plan.LabelSize);
        var x = plan.X;
        var xBaseline = data.Bottom + plan.LineWidth / 2 + x.TickLength + x.Gap + plan.XLabelsExtent + plan.Gap - font.Metrics.Ascent;
        Text(spec.XLabel, data.MidX, xBaseline, font, SKTextAlign.Center);
        var y = plan.Y;
        // Vertical text: the glyphs' descent points right, towards the tick labels.
        var yBaseline = data.Left - plan.LineWidth / 2 - y.TickLength - y.Gap - plan.YLabelsExtent - plan.Gap - font.Metrics.Descent;
        Text(spec.YLabel, yBaseline, data.MidY, font, SKTextAlign.Center, vertical: true);
    }

    private void Title()
    {
        var font = FontOf(plan.TitleSize);
        var baseline = plan.Outer - font.Metrics.Ascent;
        foreach (var line in plan.TitleLines)
        {
            Text(line, Clamp(DataRect.MidX, LabelText.Measure(font, line)), baseline, font, SKTextAlign.Center);
            baseline += font.Spacing;
        }
    }

    private void Colorbar()
    {
        var data = DataRect;
        var scale = plan.Scale;
        var bar = SKRect.Create(data.Right + plan.ColorbarGap, data.Top, plan.ColorbarWidth, data.Height);
        using (var bitmap = new SKBitmap(new SKImageInfo(1, ColorScale.LutSize, SKColorType.Rgba8888, SKAlphaType.Opaque)))
        {
            for (var i = 0; i < ColorScale.LutSize; i++)
                bitmap.SetPixel(0, ColorScale.LutSize - 1 - i, scale.Lut[i]);
            using var image = SKImage.FromBitmap(bitmap);
            canvas.DrawImage(image, bar, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None));
        }
        Frame(bar);
        var font = FontOf(plan.TickSize);
        using var stroke = Stroke();
        var tickLength = 0.4f * plan.TickSize;
        var left = bar.Right + plan.LineWidth / 2;
        var ticks = plan.Colorbar;
        for (var i = 0; i < ticks.Positions.Length; i++)
        {
            var y = (float)(bar.Bottom - (ticks.Positions[i] - scale.Min) / (scale.Max - scale.Min) * bar.Height);
            canvas.DrawLine(left, y, left + tickLength, y, stroke);
            Text(ticks.Labels[i], left + tickLength + plan.Gap, y + CentreToBaseline * font.Size, font, SKTextAlign.Left);
        }
        var label = FontOf(plan.LabelSize);
        var baseline = left + tickLength + plan.Gap + plan.ColorbarLabelsExtent + plan.Gap - label.Metrics.Ascent;
        Text(spec.ColorbarLabel, baseline, bar.MidY, label, SKTextAlign.Center, vertical: true);
    }

    private void Legend()
    {
        if (plan.Legend is not { } legend) return;
        var font = FontOf(plan.TickSize);
        var side = font.Spacing;
        var swatch = SKRect.Create(DataRect.Right + plan.ColorbarGap, DataRect.Bottom + plan.TickSize, side, side);
        using (var fill = new SKPaint { Color = plan.Scale.Masked, Style = SKPaintStyle.Fill, IsAntialias = false })
            canvas.DrawRect(swatch, fill);
        Frame(swatch);
        Text(legend, swatch.Right + plan.Gap, swatch.MidY + CentreToBaseline * font.Size, font, SKTextAlign.Left);
    }

    /// <summary>The centre for a line of <paramref name="width"/> pixels near <paramref name="centre"/> that stays inside the figure.</summary>
    private float Clamp(float centre, float width)
    {
        var min = plan.Outer + width / 2;
        var max = plan.Layout.Width - plan.Outer - width / 2;
        return min > max ? plan.Layout.Width / 2f : Math.Clamp(centre, min, max);
    }

    private void Text(string text, float x, float y, SKFont font, SKTextAlign align, bool vertical = false)
    {
        if (string.IsNullOrEmpty(text)) return;
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true, Style = SKPaintStyle.Fill };
        if (vertical)
        {
            // Vertical text reads upwards; (x, y) is where its baseline crosses the anchor line.
            canvas.Save();
            canvas.Translate(x, y);
            canvas.RotateDegrees(-90);
            (x, y) = (0, 0);
        }
        if (LabelText.NeedsShaping(text))
        {
            var shaped = LabelText.Shape(text, font.Size);
            var start = align switch
            {
                SKTextAlign.Center => x - shaped.Width / 2,
                SKTextAlign.Right => x - shaped.Width,
                _ => x,
            };
            LabelText.Draw(canvas, shaped, start, y, font.Size, paint, subsets, asPaths: target == FigureTarget.Svg);
        }
        else
        {
            canvas.DrawText(text, x, y, align, font, paint);
        }
        if (vertical) canvas.Restore();
    }
}
