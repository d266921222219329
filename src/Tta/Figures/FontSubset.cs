using System.Runtime.InteropServices;

namespace Tta.Figures;

/// <summary>
/// Reduces a TrueType font to the glyphs some texts need, with HarfBuzz's subsetter (hb-subset, in the
/// libHarfBuzzSharp that ScottPlot's SkiaSharp.HarfBuzz already ships; HarfBuzzSharp's managed API does not wrap it).
/// SkiaSharp's PDF backend embeds a font file whole — about 0.4 MB of DejaVu Sans in every PDF — because this build
/// of Skia has no subsetter; handing it a typeface made from the subset embeds only the glyphs drawn. Hinting and the
/// layout tables are dropped (a PDF viewer uses neither). The result depends only on the font and the characters.
/// </summary>
internal static partial class FontSubset
{
    private const string Lib = "libHarfBuzzSharp";
    private const uint NoHinting = 0x1;
    private const int DropTableTags = 3; // HB_SUBSET_SETS_DROP_TABLE_TAG
    private const int ReadOnlyMemory = 1; // HB_MEMORY_MODE_READONLY

    private static readonly uint[] DroppedTables = [Tag("GSUB"), Tag("GPOS"), Tag("GDEF"), Tag("kern"), Tag("BASE"), Tag("JSTF"), Tag("MATH")];

    /// <summary>The subset font file holding the glyphs of every character in <paramref name="texts"/>.</summary>
    public static unsafe byte[] Create(byte[] font, IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(font);
        ArgumentNullException.ThrowIfNull(texts);
        var codepoints = new SortedSet<int>();
        foreach (var text in texts)
            foreach (var rune in (text ?? "").EnumerateRunes())
                codepoints.Add(rune.Value);
        fixed (byte* data = font)
        {
            var blob = hb_blob_create((IntPtr)data, (uint)font.Length, ReadOnlyMemory, IntPtr.Zero, IntPtr.Zero);
            var face = hb_face_create(blob, 0);
            var input = hb_subset_input_create_or_fail();
            var result = IntPtr.Zero;
            var resultBlob = IntPtr.Zero;
            try
            {
                if (input == IntPtr.Zero) throw new InvalidOperationException("hb-subset: could not create a subset input");
                var unicodes = hb_subset_input_unicode_set(input);
                foreach (var cp in codepoints) hb_set_add(unicodes, (uint)cp);
                var dropped = hb_subset_input_set(input, DropTableTags);
                foreach (var tag in DroppedTables) hb_set_add(dropped, tag);
                hb_subset_input_set_flags(input, NoHinting);
                result = hb_subset_or_fail(face, input);
                if (result == IntPtr.Zero) throw new InvalidOperationException("hb-subset could not subset the figure font");
                resultBlob = hb_face_reference_blob(result);
                var bytes = hb_blob_get_data(resultBlob, out var length);
                if (bytes == IntPtr.Zero || length == 0) throw new InvalidOperationException("hb-subset returned an empty font");
                var subset = new byte[length];
                Marshal.Copy(bytes, subset, 0, (int)length);
                return subset;
            }
            finally
            {
                if (resultBlob != IntPtr.Zero) hb_blob_destroy(resultBlob);
                if (result != IntPtr.Zero) hb_face_destroy(result);
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
    [LibraryImport(Lib)] private static partial IntPtr hb_subset_or_fail(IntPtr face, IntPtr input);
    [LibraryImport(Lib)] private static partial void hb_set_add(IntPtr set, uint codepoint);
}
