using System.Globalization;
using System.Text;
using SkiaSharp;
using HbBuffer = HarfBuzzSharp.Buffer;
using HbDirection = HarfBuzzSharp.Direction;

namespace Tta.Figures;

/// <summary>One run of shaped glyphs in one font, positioned in pixels from the label's origin (baseline y = 0).</summary>
internal sealed record ShapedRun(LabelFace Face, ushort[] Glyphs, SKPoint[] Positions, byte[] Utf8, uint[] Clusters);

/// <summary>A label shaped for drawing: its runs in visual order (left to right) and its advance width in pixels.</summary>
internal sealed record ShapedLabel(IReadOnlyList<ShapedRun> Runs, float Width);

/// <summary>
/// Labels outside the pinned font's reach: each grapheme is given the first font of <see cref="LabelFonts"/> that has its
/// glyphs, runs of one font and one direction are shaped by HarfBuzz (Arabic joins, marks sit on their letters, emoji
/// ZWJ sequences become one glyph), and the runs are put in visual order by the essentials of the Unicode bidi algorithm
/// (UAX #9): the paragraph direction is that of the first strong character (LTR without one); letters of Hebrew,
/// Arabic and the other right-to-left blocks are strong R, other letters strong L; European digits after R text and
/// Arabic-Indic digits are numbers that read left to right inside RTL text (W2, W7); neutrals (spaces, punctuation,
/// symbols) take the direction of the strong text on both sides when it agrees, else the paragraph's (N1, N2); levels
/// are reversed from the highest down to the lowest odd one (L2). Not covered: explicit embeddings, isolates and
/// overrides (U+202A–U+202E, U+2066–U+2069, which labels show as escapes), and bracket pairs (N0).
/// Labels the pinned font draws alone, left to right and without joiners (<see cref="NeedsShaping"/> is false) keep
/// Skia's plain text drawing, so Latin figures are byte for byte what they were.
/// </summary>
internal static class LabelText
{
    private enum BidiType { L, R, EuropeanNumber, ArabicNumber, Neutral }

    /// <summary>Whether the label needs fallback fonts, shaping or bidi reordering.</summary>
    public static bool NeedsShaping(string text)
    {
        if (string.IsNullOrEmpty(text)) return false;
        var primary = LabelFonts.Primary;
        foreach (var rune in text.EnumerateRunes())
        {
            var cp = rune.Value;
            if (cp < 0x80) continue;
            // Emoji from U+1F000 on are drawn in colour even where DejaVu Sans has a black-and-white glyph.
            if (IsJoinerOrSelector(cp) || IsRtl(cp) || cp >= 0x1F000 && IsPictographic(cp) || !primary.Has(cp)) return true;
            if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
                return true;
        }
        return false;
    }

    /// <summary>Zero-width joiners and non-joiners, variation selectors and emoji tag characters: glyph-less controls of shaping.</summary>
    public static bool IsJoinerOrSelector(int cp) =>
        cp is 0x200C or 0x200D or (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0020 and <= 0xE007F) or (>= 0xE0100 and <= 0xE01EF);

    /// <summary>
    /// Whether a code point is pictographic (emoji and pictographs; an approximation of Unicode's
    /// Extended_Pictographic by its blocks), or an emoji modifier or regional indicator.
    /// </summary>
    public static bool IsPictographic(int cp) =>
        cp is 0x00A9 or 0x00AE or 0x203C or 0x2049 or 0x2122 or 0x2139 or (>= 0x2194 and <= 0x21AA) or (>= 0x2300 and <= 0x23FF)
            or (>= 0x25A0 and <= 0x27BF) or (>= 0x2934 and <= 0x2935) or (>= 0x2B00 and <= 0x2BFF) or 0x3030 or 0x303D
            or 0x3297 or 0x3299 or (>= 0x1F000 and <= 0x1FAFF) or (>= 0x1FC00 and <= 0x1FFFD);

    /// <summary>An emoji grapheme: a pictograph from U+1F000 on, or any grapheme with an emoji variation selector, ZWJ or skin-tone modifier.</summary>
    public static bool IsEmoji(string grapheme)
    {
        var first = true;
        foreach (var rune in grapheme.EnumerateRunes())
        {
            var cp = rune.Value;
            if (first && cp >= 0x1F000 && IsPictographic(cp)) return true;
            if (cp is 0xFE0F or 0x200D or 0x20E3 or (>= 0x1F3FB and <= 0x1F3FF)) return true;
            first = false;
        }
        return false;
    }

    /// <summary>The label's advance width in pixels at <paramref name="size"/>: shaped when it needs it, else Skia's plain measure.</summary>
    public static float Measure(SKFont font, string text) =>
        NeedsShaping(text) ? Shape(text, font.Size).Width : font.MeasureText(text);

    /// <summary>Shapes <paramref name="text"/> at <paramref name="size"/> pixels; graphemes no font has are drawn as DejaVu's .notdef box and logged.</summary>
    public static ShapedLabel Shape(string text, float size)
    {
        ArgumentNullException.ThrowIfNull(text);
        var graphemes = Graphemes(text);
        if (graphemes.Count == 0) return new ShapedLabel([], 0);
        var faces = new LabelFace[graphemes.Count];
        var types = new BidiType[graphemes.Count];
        for (var i = 0; i < graphemes.Count; i++)
        {
            var g = graphemes[i];
            var face = LabelFonts.For(g);
            if (face is null)
            {
                LabelFonts.ReportMissing(text, g);
                face = LabelFonts.Primary;
            }
            faces[i] = face;
            types[i] = TypeOf(g.EnumerateRunes().First().Value);
        }
        var levels = Levels(types);

        // Items: runs of one font and one level, in logical order; each is shaped in its direction.
        var items = new List<(int Start, int End, int Level)>();
        for (var i = 0; i < graphemes.Count; i++)
        {
            if (items.Count > 0 && items[^1].Level == levels[i] && faces[items[^1].Start] == faces[i])
                items[^1] = (items[^1].Start, i + 1, levels[i]);
            else
                items.Add((i, i + 1, levels[i]));
        }
        var shaped = items.Select(item => ShapeItem(string.Concat(graphemes.Skip(item.Start).Take(item.End - item.Start)),
            faces[item.Start], item.Level % 2 == 1, size)).ToArray();

        // L2: from the highest level down to the lowest odd one, reverse every maximal sequence at that level or above.
        var order = Enumerable.Range(0, items.Count).ToArray();
        var highest = items.Max(i => i.Level);
        var lowestOdd = items.Where(i => i.Level % 2 == 1).Select(i => i.Level).DefaultIfEmpty(int.MaxValue).Min();
        for (var level = highest; level >= lowestOdd; level--)
        {
            var k = 0;
            while (k < order.Length)
            {
                if (items[order[k]].Level < level) { k++; continue; }
                var end = k;
                while (end < order.Length && items[order[end]].Level >= level) end++;
                Array.Reverse(order, k, end - k);
                k = end;
            }
        }

        var runs = new List<ShapedRun>(items.Count);
        var x = 0f;
        foreach (var index in order)
        {
            var (run, advance) = shaped[index];
            if (run.Glyphs.Length > 0)
                runs.Add(run with { Positions = [.. run.Positions.Select(p => new SKPoint(p.X + x, p.Y))] });
            x += advance;
        }
        return new ShapedLabel(runs, x);
    }

    /// <summary>
    /// Draws a shaped label with its origin at (<paramref name="x"/>, <paramref name="y"/>). <paramref name="subsets"/>
    /// (a PDF's fonts) replaces each font by its subset, glyph ids mapped; the runs carry their text, so a PDF reader
    /// extracts the characters and not the glyph forms. <paramref name="asPaths"/> (SVG) draws outlines, and glyphs
    /// that have none (colour emoji bitmaps) as images, so the file shows them without the fonts.
    /// </summary>
    public static void Draw(SKCanvas canvas, ShapedLabel label, float x, float y, float size, SKPaint paint, LabelSubsets? subsets, bool asPaths)
    {
        foreach (var run in label.Runs)
        {
            var typeface = subsets?.Typeface(run.Face) ?? run.Face.Typeface;
            using var font = HeatmapPainter.Font(typeface, size);
            var glyphs = subsets is null ? run.Glyphs : [.. run.Glyphs.Select(g => subsets.Glyph(run.Face, g))];
            if (asPaths)
            {
                DrawAsPaths(canvas, font, glyphs, run.Positions, x, y, paint);
                continue;
            }
            using var builder = new SKTextBlobBuilder();
            var buffer = builder.AllocatePositionedTextRun(font, glyphs.Length, run.Utf8.Length);
            glyphs.CopyTo(buffer.Glyphs);
            run.Positions.CopyTo(buffer.Positions);
            run.Utf8.CopyTo(buffer.Text);
            run.Clusters.CopyTo(buffer.Clusters);
            using var blob = builder.Build();
            if (blob is not null) canvas.DrawText(blob, x, y, paint);
        }
    }

    private static void DrawAsPaths(SKCanvas canvas, SKFont font, ushort[] glyphs, SKPoint[] positions, float x, float y, SKPaint paint)
    {
        var glyphBounds = new SKRect[1];
        for (var i = 0; i < glyphs.Length; i++)
        {
            var at = new SKPoint(x + positions[i].X, y + positions[i].Y);
            using var path = font.GetGlyphPath(glyphs[i]);
            if (path is not null && !path.IsEmpty)
            {
                path.Offset(at);
                canvas.DrawPath(path, paint);
                continue;
            }
            // A bitmap glyph: rasterised at 4x its size, placed as an image over its bounds.
            font.GetGlyphWidths([glyphs[i]], [], glyphBounds, paint);
            var bounds = glyphBounds[0];
            if (bounds.IsEmpty) continue;
            const int Oversample = 4;
            var info = new SKImageInfo((int)Math.Ceiling(bounds.Width * Oversample), (int)Math.Ceiling(bounds.Height * Oversample), SKColorType.Rgba8888, SKAlphaType.Premul);
            using var surface = SKSurface.Create(info);
            if (surface is null) continue;
            surface.Canvas.Clear(SKColors.Transparent);
            surface.Canvas.Scale(Oversample);
            using (var builder = new SKTextBlobBuilder())
            {
                var buffer = builder.AllocatePositionedRun(font, 1);
                buffer.Glyphs[0] = glyphs[i];
                buffer.Positions[0] = new SKPoint(-bounds.Left, -bounds.Top);
                using var blob = builder.Build();
                if (blob is not null) surface.Canvas.DrawText(blob, 0, 0, paint);
            }
            using var image = surface.Snapshot();
            canvas.DrawImage(image, SKRect.Create(at.X + bounds.Left, at.Y + bounds.Top, bounds.Width, bounds.Height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
        }
    }

    /// <summary>The label's extended grapheme clusters (UAX #29, as .NET segments text elements).</summary>
    public static List<string> Graphemes(string text)
    {
        var list = new List<string>();
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext()) list.Add(e.GetTextElement());
        return list;
    }

    private static (ShapedRun Run, float Advance) ShapeItem(string text, LabelFace face, bool rtl, float size)
    {
        using var buffer = new HbBuffer();
        buffer.AddUtf8(text);
        buffer.Direction = rtl ? HbDirection.RightToLeft : HbDirection.LeftToRight;
        buffer.GuessSegmentProperties();
        face.Shaper.Shape(buffer);
        var infos = buffer.GlyphInfos;
        var positions = buffer.GlyphPositions;
        var scale = size / face.UnitsPerEm;
        var glyphs = new ushort[infos.Length];
        var points = new SKPoint[infos.Length];
        var clusters = new uint[infos.Length];
        var x = 0f;
        for (var i = 0; i < infos.Length; i++)
        {
            glyphs[i] = (ushort)infos[i].Codepoint;
            clusters[i] = infos[i].Cluster;
            points[i] = new SKPoint(x + positions[i].XOffset * scale, -positions[i].YOffset * scale);
            x += positions[i].XAdvance * scale;
        }
        return (new ShapedRun(face, glyphs, points, Encoding.UTF8.GetBytes(text), clusters), x);
    }

    /// <summary>Embedding levels per grapheme: 0/2 left to right, 1 right to left, from the simplified rules in the class summary.</summary>
    private static int[] Levels(BidiType[] types)
    {
        var n = types.Length;
        // P2/P3: the first strong letter sets the paragraph direction (left to right without one).
        var paragraphRtl = Array.Find(types, t => t is BidiType.L or BidiType.R) == BidiType.R;
        // W2/W7: a European number takes the direction of the last strong type before it (the paragraph's when none).
        var direction = new BidiType[n];
        var lastStrong = paragraphRtl ? BidiType.R : BidiType.L;
        for (var i = 0; i < n; i++)
        {
            var t = types[i];
            if (t is BidiType.L or BidiType.R) lastStrong = t;
            direction[i] = t switch
            {
                BidiType.EuropeanNumber => lastStrong == BidiType.L ? BidiType.L : BidiType.EuropeanNumber,
                _ => t,
            };
        }
        // N1/N2: neutrals between text of one direction take it (numbers count as R), else the paragraph's.
        static BidiType Strength(BidiType t) => t is BidiType.EuropeanNumber or BidiType.ArabicNumber ? BidiType.R : t;
        var resolved = (BidiType[])direction.Clone();
        for (var i = 0; i < n; i++)
        {
            if (direction[i] != BidiType.Neutral) continue;
            var end = i;
            while (end < n && direction[end] == BidiType.Neutral) end++;
            var before = i > 0 ? Strength(direction[i - 1]) : paragraphRtl ? BidiType.R : BidiType.L;
            var after = end < n ? Strength(direction[end]) : paragraphRtl ? BidiType.R : BidiType.L;
            var take = before == after ? before : paragraphRtl ? BidiType.R : BidiType.L;
            for (var k = i; k < end; k++) resolved[k] = take;
            i = end - 1;
        }
        var levels = new int[n];
        for (var i = 0; i < n; i++)
        {
            levels[i] = (paragraphRtl, resolved[i]) switch
            {
                (false, BidiType.L) => 0,
                (false, BidiType.R) => 1,
                (false, _) => 2, // numbers after right-to-left text
                (true, BidiType.R) => 1,
                (true, _) => 2, // left-to-right text and numbers inside a right-to-left paragraph
            };
        }
        return levels;
    }

    private static BidiType TypeOf(int cp)
    {
        if (cp is (>= 0x0660 and <= 0x0669) or (>= 0x06F0 and <= 0x06F9)) return BidiType.ArabicNumber;
        if (IsRtl(cp)) return BidiType.R;
        var category = CharUnicodeInfo.GetUnicodeCategory(cp);
        if (category == UnicodeCategory.DecimalDigitNumber) return BidiType.EuropeanNumber;
        return category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.LetterNumber
            ? BidiType.L
            : BidiType.Neutral;
    }

    /// <summary>Code points of the right-to-left blocks: Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic and their presentation forms, and the RTL SMP ranges.</summary>
    public static bool IsRtl(int cp) =>
        cp is (>= 0x0590 and <= 0x08FF) or (>= 0xFB1D and <= 0xFDFF) or (>= 0xFE70 and <= 0xFEFF) or (>= 0x10800 and <= 0x10FFF)
            or (>= 0x1E800 and <= 0x1EFFF);
}
