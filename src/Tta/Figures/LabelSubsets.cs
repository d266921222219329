using System.Text;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// The fonts of one PDF, each reduced to what the figure draws (<see cref="FontSubset"/>): the pinned font to the
/// characters of every text (as before fallback fonts existed, so Latin PDFs keep their bytes) plus the glyphs its
/// shaped labels use, and each fallback font a shaped label uses to those glyphs and characters (Noto Sans CJK from its
/// .ttc at <see cref="LabelFace.Index"/>). Shaped glyph ids are mapped to the subsets' own.
/// </summary>
internal sealed class LabelSubsets : IDisposable
{
    private readonly Dictionary<LabelFace, (SKTypeface Typeface, Dictionary<ushort, ushort> Glyphs)> subsets = [];

    private LabelSubsets()
    {
    }

    /// <summary>The pinned font's subset: the typeface plain (unshaped) text is drawn with.</summary>
    public SKTypeface Primary => subsets[LabelFonts.Primary].Typeface;

    public static LabelSubsets Create(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var all = texts.Select(t => t ?? "").ToList();
        var glyphs = new Dictionary<LabelFace, SortedSet<ushort>>();
        var chars = new Dictionary<LabelFace, StringBuilder>();
        foreach (var text in all.Where(LabelText.NeedsShaping).Distinct(StringComparer.Ordinal))
            foreach (var run in LabelText.Shape(text, 12).Runs)
            {
                if (!glyphs.TryGetValue(run.Face, out var set)) glyphs[run.Face] = set = [];
                set.UnionWith(run.Glyphs);
                if (!chars.TryGetValue(run.Face, out var sb)) chars[run.Face] = sb = new StringBuilder();
                sb.Append(Encoding.UTF8.GetString(run.Utf8));
            }
        var result = new LabelSubsets();
        try
        {
            var primary = LabelFonts.Primary;
            result.Add(primary, all, glyphs.GetValueOrDefault(primary) ?? []);
            foreach (var (face, set) in glyphs)
                if (face != primary)
                    result.Add(face, [chars[face].ToString()], set);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>The subset of <paramref name="face"/>'s typeface (null when this PDF draws nothing in it).</summary>
    public SKTypeface? Typeface(LabelFace face) => subsets.TryGetValue(face, out var s) ? s.Typeface : null;

    /// <summary>The subset's id of a glyph of <paramref name="face"/> (0, .notdef, when not in the subset).</summary>
    public ushort Glyph(LabelFace face, ushort glyph) =>
        subsets.TryGetValue(face, out var s) && s.Glyphs.TryGetValue(glyph, out var to) ? to : (ushort)0;

    private void Add(LabelFace face, IEnumerable<string> texts, IEnumerable<ushort> glyphs)
    {
        var (bytes, map) = FontSubset.Create(face.Bytes, face.Index, texts, glyphs);
        // The typeface reads its glyphs from this data for as long as it lives, so the data is not disposed here.
        var typeface = SKTypeface.FromData(SKData.CreateCopy(bytes))
            ?? throw new InvalidOperationException($"SkiaSharp could not load the subset of {face.Family}");
        subsets[face] = (typeface, map);
    }

    public void Dispose()
    {
        foreach (var (typeface, _) in subsets.Values) typeface.Dispose();
        subsets.Clear();
    }
}
