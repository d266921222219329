using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using SkiaSharp;
using HbBlob = HarfBuzzSharp.Blob;
using HbFace = HarfBuzzSharp.Face;
using HbFont = HarfBuzzSharp.Font;

namespace Tta.Figures;

/// <summary>
/// One font of the label font chain: the HarfBuzz font that shapes text and finds glyphs, and the Skia typeface that
/// draws them, both from the same file (and face index of a collection), so glyph ids agree.
/// </summary>
internal sealed class LabelFace
{
    private readonly Lazy<SKTypeface> typeface;
    private readonly Lazy<byte[]> bytes;

    private LabelFace(string family, string? file, int index, string package, bool emoji, HbFace face, Func<SKTypeface> typeface, Func<byte[]> bytes)
    {
        Family = family;
        File = file;
        Index = index;
        Package = package;
        IsEmoji = emoji;
        Shaper = new HbFont(face);
        UnitsPerEm = face.UnitsPerEm;
        this.typeface = new Lazy<SKTypeface>(typeface, LazyThreadSafetyMode.ExecutionAndPublication);
        this.bytes = new Lazy<byte[]>(bytes, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Family { get; }

    /// <summary>The font file, or null for the embedded DejaVu Sans.</summary>
    public string? File { get; }

    /// <summary>The face's index in its file (a .ttc collection holds several).</summary>
    public int Index { get; }

    /// <summary>The Debian package that installs the file.</summary>
    public string Package { get; }

    /// <summary>A colour emoji font (bitmap glyphs): preferred for emoji graphemes.</summary>
    public bool IsEmoji { get; }

    /// <summary>HarfBuzz font at the face's own scale (units per em): shaping results are in font units.</summary>
    public HbFont Shaper { get; }

    public int UnitsPerEm { get; }

    public SKTypeface Typeface => typeface.Value;

    /// <summary>The font file's bytes (for PDF subsets).</summary>
    public byte[] Bytes => bytes.Value;

    /// <summary>Whether the face maps <paramref name="codepoint"/> to a glyph.</summary>
    public bool Has(int codepoint) => Shaper.TryGetGlyph((uint)codepoint, out var glyph) && glyph != 0;

    public static LabelFace Embedded()
    {
        var data = FigureFont.ReadFontBytes();
        // HarfBuzz reads the font from unmanaged memory that lives as long as the blob (the GC moves managed arrays).
        var memory = Marshal.AllocHGlobal(data.Length);
        Marshal.Copy(data, 0, memory, data.Length);
        var blob = new HbBlob(memory, data.Length, HarfBuzzSharp.MemoryMode.ReadOnly, () => Marshal.FreeHGlobal(memory));
        return new LabelFace(FigureFont.Name, null, 0, "bundled", false, new HbFace(blob, 0), () => FigureFont.Typeface, () => data);
    }

    public static LabelFace? FromFile(string family, string file, int index, string package, bool emoji)
    {
        if (!System.IO.File.Exists(file)) return null;
        var blob = HbBlob.FromFile(file);
        var face = new HbFace(blob, index);
        if (face.GlyphCount == 0) return null;
        return new LabelFace(family, file, index, package, emoji, face,
            () => SKTypeface.FromFile(file, index) ?? throw new InvalidOperationException($"SkiaSharp could not load the font {file} (face {index})"),
            () => System.IO.File.ReadAllBytes(file));
    }
}

/// <summary>
/// The fonts figure labels are drawn in. The bundled DejaVu Sans comes first and draws every label it has glyphs for
/// (so Latin figures look as they always did); characters it lacks fall back, one grapheme at a time, to Noto fonts
/// installed by Debian packages (too heavy to bundle; build.sh installs them): Noto Sans CJK (fonts-noto-cjk, the SC
/// face of the collection), Noto Color Emoji (fonts-noto-color-emoji) and the Noto Sans script fonts (fonts-noto-core).
/// Arabic and Hebrew graphemes prefer their Noto font over DejaVu's partial coverage, so a word never changes font
/// halfway and its letters still join. A font that is not installed is skipped; a label that needs it is drawn with
/// DejaVu's .notdef box and named once in the log with the package to install.
/// </summary>
internal static class LabelFonts
{
    public const string NotoDir = "/usr/share/fonts/truetype/noto";
    public const string CjkFile = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

    /// <summary>Face 2 of NotoSansCJK-Regular.ttc is Noto Sans CJK SC (0 JP, 1 KR, 3 TC, 4 HK): simplified Chinese glyph forms.</summary>
    public const int CjkFaceIndex = 2;

    /// <summary>Script fonts of fonts-noto-core, in the order they are tried after DejaVu, CJK and emoji.</summary>
    private static readonly string[] ScriptFonts =
    [
        "Arabic", "Hebrew", "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada",
        "Malayalam", "Sinhala", "Thai", "Lao", "Khmer", "Myanmar", "Georgian", "Armenian", "Ethiopic", "Syriac",
        "Thaana", "Mongolian", "Symbols", "Symbols2", "Math",
    ];

    private static readonly Lazy<IReadOnlyList<LabelFace>> LazyChain = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly ConcurrentDictionary<string, bool> Reported = new(StringComparer.Ordinal);

    /// <summary>DejaVu Sans first, then each installed fallback font.</summary>
    public static IReadOnlyList<LabelFace> Chain => LazyChain.Value;

    private static readonly Lazy<LabelFace> LazyPrimary = new(LabelFace.Embedded, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The bundled DejaVu Sans (loaded alone: deciding whether a text needs a fallback loads no other font).</summary>
    public static LabelFace Primary => LazyPrimary.Value;

    /// <summary>
    /// Whether labels made from <paramref name="text"/> can be drawn in a fallback font: the rule the labels
    /// themselves follow (<see cref="LabelText.NeedsShaping"/>). Tokens are pieces of the text, so a text that needs
    /// none draws the same on every machine, whatever fonts it has.
    /// </summary>
    public static bool NeedsFallback(string text) => LabelText.NeedsShaping(text);

    /// <summary>The fallback fonts figures look for: family, file, face index, Debian package.</summary>
    public static IEnumerable<(string Family, string File, int Index, string Package)> Wanted()
    {
        yield return ("Noto Sans CJK SC", CjkFile, CjkFaceIndex, "fonts-noto-cjk");
        yield return ("Noto Color Emoji", Path.Combine(NotoDir, "NotoColorEmoji.ttf"), 0, "fonts-noto-color-emoji");
        foreach (var script in ScriptFonts)
            yield return ("Noto Sans " + script, Path.Combine(NotoDir, $"NotoSans{script}-Regular.ttf"), 0, "fonts-noto-core");
        yield return ("Noto Sans", Path.Combine(NotoDir, "NotoSans-Regular.ttf"), 0, "fonts-noto-core");
    }

    /// <summary>
    /// Which fallback fonts this machine has (each file's name and size, hashed): the param of a figures unit whose
    /// text needs one (<see cref="NeedsFallback"/>), so figures drawn before a font package was installed (boxes for
    /// its script) are rebuilt after it, not kept as up to date. A text that needs none records no fonts, so its
    /// figures are not rebuilt for fonts (nor on Slurm nodes with other fonts than the submitting host).
    /// </summary>
    public static string InstalledSignature { get; } = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
        System.Text.Encoding.UTF8.GetBytes(string.Join("\n", Wanted().Where(w => File.Exists(w.File))
            .Select(w => $"{Path.GetFileName(w.File)}:{w.Index}:{new FileInfo(w.File).Length}")))))[..16];

    private static List<LabelFace> Load()
    {
        var chain = new List<LabelFace> { Primary };
        foreach (var (family, file, index, package) in Wanted())
            if (LabelFace.FromFile(family, file, index, package, emoji: family == "Noto Color Emoji") is { } face)
                chain.Add(face);
        return chain;
    }

    /// <summary>
    /// The font for one grapheme: the first in the chain with a glyph for each of its characters (joiners and
    /// variation selectors aside); emoji graphemes try the emoji font first, Arabic and Hebrew ones their Noto font.
    /// Null when no installed font has them all.
    /// </summary>
    public static LabelFace? For(string grapheme)
    {
        var chain = Chain;
        if (LabelText.IsEmoji(grapheme) && chain.FirstOrDefault(f => f.IsEmoji) is { } emoji && Covers(emoji, grapheme))
            return emoji;
        if (PreferredFamily(grapheme) is { } family && chain.FirstOrDefault(f => f.Family == family) is { } script && Covers(script, grapheme))
            return script;
        foreach (var face in chain)
            if (Covers(face, grapheme))
                return face;
        return null;
    }

    /// <summary>Logs once per process that <paramref name="label"/> needs a font that is not installed.</summary>
    public static void ReportMissing(string label, string grapheme)
    {
        var rune = grapheme.EnumerateRunes().First();
        var package = PackageFor(rune.Value);
        if (!Reported.TryAdd(package, true)) return;
        Console.Error.WriteLine($"figures: no installed font has a glyph for U+{rune.Value:X4} in the label '{label}'; it is drawn as a box. Install {package} (apt-get install {package}) for such labels.");
    }

    private static string PackageFor(int codepoint) => codepoint switch
    {
        >= 0x1F000 or (>= 0x2600 and <= 0x27BF) => "fonts-noto-color-emoji",
        (>= 0x2E80 and <= 0x9FFF) or (>= 0xAC00 and <= 0xD7AF) or (>= 0xF900 and <= 0xFAFF) or (>= 0xFF00 and <= 0xFFEF) or (>= 0x20000 and <= 0x3FFFF) => "fonts-noto-cjk",
        _ => "fonts-noto-core",
    };

    private static string? PreferredFamily(string grapheme)
    {
        var first = grapheme.EnumerateRunes().First().Value;
        return first switch
        {
            (>= 0x0600 and <= 0x06FF) or (>= 0x0750 and <= 0x077F) or (>= 0x08A0 and <= 0x08FF) or (>= 0xFB50 and <= 0xFDFF) or (>= 0xFE70 and <= 0xFEFF) => "Noto Sans Arabic",
            (>= 0x0590 and <= 0x05FF) or (>= 0xFB1D and <= 0xFB4F) => "Noto Sans Hebrew",
            _ => null,
        };
    }

    private static bool Covers(LabelFace face, string grapheme)
    {
        foreach (var rune in grapheme.EnumerateRunes())
            if (!LabelText.IsJoinerOrSelector(rune.Value) && !face.Has(rune.Value))
                return false;
        return true;
    }
}
