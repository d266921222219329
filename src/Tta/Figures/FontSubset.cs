using System.Runtime.InteropServices;

namespace Tta.Figures;

/// <summary>
/// Reduces a TrueType font to the glyphs some texts need, with HarfBuzz's subsetter (hb-subset, in the
/// libHarfBuzzSharp that ScottPlot's SkiaSharp.HarfBuzz already ships; HarfBuzzSharp's managed API does not wrap it).
/// SkiaSharp's PDF backend embeds a font file whole — about 0.4 MB of DejaVu Sans in every PDF — because this build
/// of Skia has no subsetter; handing it a typeface made from the subset embeds only the glyphs drawn. Hinting and the
/// layout tables are dropped (a PDF viewer uses neither). The result depends only on the font, the characters and the
/// shaped glyphs asked for (fallback fonts of <see cref="LabelSubsets"/>: joining forms and ligatures no character maps to).
/// </summary>
internal static partial class FontSubset
{
    private const string Lib = "libHarfBuzzSharp";
    private const uint NoHinting = 0x1;
    private const int DropTableTags = 3; // HB_SUBSET_SETS_DROP_TABLE_TAG
    private const int ReadOnlyMemory = 1; // HB_MEMORY_MODE_READONLY

    private static readonly uint[] DroppedTables = [Tag("GSUB"), Tag("GPOS"), Tag("GDEF"), Tag("kern"), Tag("BASE"), Tag("JSTF"), Tag("MATH")];

    /// <summary>The subset font file holding the glyphs of every character in <paramref name="texts"/>.</summary>
    public static byte[] Create(byte[] font, IEnumerable<string> texts) => Create(font, 0, texts, []).Font;

    /// <summary>
    /// The subset of face <paramref name="faceIndex"/> of <paramref name="font"/> (a .ttc collection holds several)
    /// holding the glyphs of every character in <paramref name="texts"/> and the glyphs <paramref name="glyphs"/> (shaped
    /// glyph ids, e.g. Arabic joining forms and emoji ZWJ ligatures no character maps to), with the new id of each of
    /// <paramref name="glyphs"/>: the subset renumbers glyphs.
    /// </summary>
    public static unsafe (byte[] Font, Dictionary<ushort, ushort> GlyphMap) Create(byte[] font, int faceIndex, IEnumerable<string> texts, IEnumerable<ushort> glyphs)
    {
        ArgumentNullException.ThrowIfNull(font);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(glyphs);
        var codepoints = new SortedSet<int>();
        foreach (var text in texts)
            foreach (var rune in (text ?? "").EnumerateRunes())
                codepoints.Add(rune.Value);
        var wanted = new SortedSet<ushort>(glyphs);
        fixed (byte* data = font)
        {
            var blob = hb_blob_create((IntPtr)data, (uint)font.Length, ReadOnlyMemory, IntPtr.Zero, IntPtr.Zero);
            var face = hb_face_create(blob, (uint)faceIndex);
            var input = hb_subset_input_create_or_fail();
            var plan = IntPtr.Zero;
            var result = IntPtr.Zero;
            var resultBlob = IntPtr.Zero;
            try
            {
                if (input == IntPtr.Zero) throw new InvalidOperationException("hb-subset: could not create a subset input");
                var unicodes = hb_subset_input_unicode_set(input);
                foreach (var cp in codepoints) hb_set_add(unicodes, (uint)cp);
                if (wanted.Count > 0)
                {
                    var glyphSet = hb_subset_input_glyph_set(input);
                    foreach (var g in wanted) hb_set_add(glyphSet, g);
                }
                var dropped = hb_subset_input_set(input, DropTableTags);
                foreach (var tag in DroppedTables) hb_set_add(dropped, tag);
                hb_subset_input_set_flags(input, NoHinting);
                plan = hb_subset_plan_create_or_fail(face, input);
                if (plan == IntPtr.Zero) throw new InvalidOperationException("hb-subset could not plan a subset of the figure font");
                result = hb_subset_plan_execute_or_fail(plan);
                if (result == IntPtr.Zero) throw new InvalidOperationException("hb-subset could not subset the figure font");
                var map = new Dictionary<ushort, ushort>();
                var oldToNew = hb_subset_plan_old_to_new_glyph_mapping(plan);
                foreach (var g in wanted)
                {
                    var to = hb_map_get(oldToNew, g);
                    map[g] = to == uint.MaxValue ? (ushort)0 : (ushort)to;
                }
                resultBlob = hb_face_reference_blob(result);
                var bytes = hb_blob_get_data(resultBlob, out var length);
                if (bytes == IntPtr.Zero || length == 0) throw new InvalidOperationException("hb-subset returned an empty font");
                var subset = new byte[length];
                Marshal.Copy(bytes, subset, 0, (int)length);
                return (subset, map);
            }
            finally
            {
                if (resultBlob != IntPtr.Zero) hb_blob_destroy(resultBlob);
                if (result != IntPtr.Zero) hb_face_destroy(result);
                if (plan != IntPtr.Zero) hb_subset_plan_destroy(plan);
                if (input != IntPtr.Zero) hb_subset_input_destroy(input);
                hb_face_destroy(face);
                hb_blob_destroy(blob);
            }
        }
    }

    private static uint Tag(string t) => (uint)(t[0] << 24 | t[1] << 16 | t[2] << 8 | t[3]);

    [LibraryImport(Lib)] private static partial IntPtr hb_blob_create(IntPtr data, uint length, int mode, IntPtr userData, IntPtr destroy);
    [LibraryImport(Lib)] private static partial void hb_blob_destroy(IntPtr blob);
    [LibraryImport(Lib)] private static partial IntPtr hb_blob_get_data(IntPtr blob, out uint length);
    [LibraryImport(Lib)] private static partial IntPtr hb_face_create(IntPtr blob, uint index);
    [LibraryImport(Lib)] private static partial void hb_face_destroy(IntPtr face);
    [LibraryImport(Lib)] private static partial IntPtr hb_face_reference_blob(IntPtr face);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_input_create_or_fail();
    [LibraryImport(Lib)] private static partial void hb_subset_input_destroy(IntPtr input);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_input_unicode_set(IntPtr input);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_input_set(IntPtr input, int setType);
    [LibraryImport(Lib)] private static partial void hb_subset_input_set_flags(IntPtr input, uint flags);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_input_glyph_set(IntPtr input);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_plan_create_or_fail(IntPtr face, IntPtr input);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_plan_execute_or_fail(IntPtr plan);
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_plan_old_to_new_glyph_mapping(IntPtr plan);
    [LibraryImport(Lib)] private static partial void hb_subset_plan_destroy(IntPtr plan);
    [LibraryImport(Lib)] private static partial uint hb_map_get(IntPtr map, uint key);
    [LibraryImport(Lib)] private static partial void hb_set_add(IntPtr set, uint codepoint);
}
