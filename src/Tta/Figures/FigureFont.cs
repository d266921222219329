using System.Collections.Concurrent;
using ScottPlot;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// The one typeface every figure uses, loaded from a TTF embedded in this assembly (DejaVu Sans 2.37 from Debian's
/// fonts-dejavu-core; licence in Fonts/LICENSE-DejaVu.txt) so that text metrics and glyphs do not depend on the fonts
/// installed on the machine. <see cref="EnsureRegistered"/> puts a resolver first in ScottPlot's font chain that
/// answers every font request with this typeface (or, for a <see cref="SubsetName"/>, with a subset of it) and makes
/// its name ScottPlot's default. PDFs embed a subset holding only the glyphs they draw (<see cref="FontSubset"/>): a plot
/// built for a PDF names its subset in its labels (<see cref="Apply"/>'s font name, chosen by whoever builds the plot).
/// </summary>
public static class FigureFont
{
    /// <summary>The family name figures ask ScottPlot for.</summary>
    public const string Name = "Tta DejaVu Sans";

    /// <summary>Manifest name of the embedded TTF.</summary>
    public const string ResourceName = "Tta.Figures.Fonts.DejaVuSans.ttf";

    /// <summary>Font names that stand for a subset: this prefix and the subset's characters.</summary>
    public const string SubsetPrefix = Name + " subset ";

    private static readonly Lazy<byte[]> LazyBytes = new(ReadResource, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<SKTypeface> LazyTypeface = new(() => FromBytes(LazyBytes.Value), LazyThreadSafetyMode.ExecutionAndPublication);
    // A cache: one typeface per subset name, the same whenever it is made (the name is its character set).
    private static readonly ConcurrentDictionary<string, Lazy<SKTypeface>> Subsets = new(StringComparer.Ordinal);
    private static readonly Lazy<bool> Registration = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The pinned typeface (kept alive for the life of the process).</summary>
    public static SKTypeface Typeface => LazyTypeface.Value;

    /// <summary>The embedded font file's bytes (a copy).</summary>
    public static byte[] ReadFontBytes() => [.. LazyBytes.Value];

    /// <summary>
    /// A new typeface of the pinned font reduced to the characters of <paramref name="texts"/> (for one PDF; the
    /// caller disposes it). Glyph metrics are those of <see cref="Typeface"/>.
    /// </summary>
    public static SKTypeface CreateSubset(IEnumerable<string> texts) => FromBytes(FontSubset.Create(LazyBytes.Value, texts));

    /// <summary>
    /// A font name ScottPlot resolves to the pinned font reduced to printable ASCII and the characters of
    /// <paramref name="texts"/>; one typeface per distinct character set, kept for the life of the process (ScottPlot
    /// caches typefaces by name).
    /// </summary>
    public static string SubsetName(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var chars = new SortedSet<int>(Enumerable.Range(0x20, 0x7F - 0x20));
        foreach (var text in texts)
            foreach (var rune in (text ?? "").EnumerateRunes())
                chars.Add(rune.Value);
        var key = string.Concat(chars.Select(char.ConvertFromUtf32));
        var name = SubsetPrefix + key;
        Subsets.GetOrAdd(name, _ => new Lazy<SKTypeface>(() => CreateSubset([key]), LazyThreadSafetyMode.ExecutionAndPublication));
        return name;
    }

    /// <summary>
    /// Idempotent and thread-safe. After it, every ScottPlot label (whatever font name it asks for) is drawn with
    /// <see cref="Typeface"/>, and new label styles default to <see cref="Name"/>.
    /// </summary>
    public static void EnsureRegistered() => _ = Registration.Value;

    /// <summary>Once per process: ScottPlot's font chain and defaults are its own global state.</summary>
    private static bool Register()
    {
        Fonts.FontResolvers.Insert(0, new PinnedResolver(Typeface));
        Fonts.Default = Name;
        Fonts.Sans = Name;
        Fonts.Serif = Name;
        Fonts.Monospace = Name;
        return true;
    }

    /// <summary>
    /// Points a ScottPlot label style at the pinned font: <paramref name="fontName"/> is <see cref="Name"/>, or for a
    /// plot built for a PDF its <see cref="SubsetName"/>.
    /// </summary>
    public static void Apply(LabelStyle style, string fontName)
    {
        style.FontName = fontName;
        style.Italic = false;
    }

    /// <summary>An <see cref="SKFont"/> of the pinned typeface, for measuring text before laying a figure out.</summary>
    public static SKFont CreateFont(float size) => new(Typeface, size) { Subpixel = true, Edging = SKFontEdging.Antialias };

    private static byte[] ReadResource()
    {
        using var stream = typeof(FigureFont).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded font {ResourceName} is missing from {typeof(FigureFont).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static SKTypeface FromBytes(byte[] bytes)
    {
        // The typeface reads its glyphs from this data for as long as it lives, so the data is not disposed here.
        var data = SKData.CreateCopy(bytes);
        return SKTypeface.FromData(data)
            ?? throw new InvalidOperationException($"SkiaSharp could not load the embedded font {ResourceName}");
    }

    private static SKTypeface Resolve(string fontName, SKTypeface typeface) =>
        fontName.StartsWith(SubsetPrefix, StringComparison.Ordinal) && Subsets.TryGetValue(fontName, out var subset) ? subset.Value : typeface;

    private sealed class PinnedResolver(SKTypeface typeface) : IFontResolver
    {
        public SKTypeface CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) => Resolve(fontName, typeface);

        public SKTypeface CreateTypeface(string fontName, bool bold, bool italic) => Resolve(fontName, typeface);
    }
}
