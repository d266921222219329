using ScottPlot;
using SkiaSharp;

namespace Tta.Figures;

/// <summary>
/// The one typeface every figure uses, loaded from a TTF embedded in this assembly (DejaVu Sans 2.37 from Debian's
/// fonts-dejavu-core; licence in Fonts/LICENSE-DejaVu.txt) so that text metrics and glyphs do not depend on the fonts
/// installed on the machine. <see cref="EnsureRegistered"/> puts a resolver first in ScottPlot's font chain that
/// answers every font request with this typeface and makes its name ScottPlot's default.
/// </summary>
public static class FigureFont
{
    /// <summary>The family name figures ask ScottPlot for.</summary>
    public const string Name = "Tta DejaVu Sans";

    /// <summary>Manifest name of the embedded TTF.</summary>
    public const string ResourceName = "Tta.Figures.Fonts.DejaVuSans.ttf";

    private static readonly Lazy<SKTypeface> LazyTypeface = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>The pinned typeface (kept alive for the life of the process).</summary>
    public static SKTypeface Typeface => LazyTypeface.Value;

    /// <summary>The embedded font file's bytes.</summary>
    public static byte[] ReadFontBytes()
    {
        using var stream = OpenResource();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Idempotent and thread-safe. After it, every ScottPlot label (whatever font name it asks for) is drawn with
    /// <see cref="Typeface"/>, and new label styles default to <see cref="Name"/>.
    /// </summary>
    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (_registered)
                return;
            var typeface = Typeface;
            Fonts.FontResolvers.Insert(0, new PinnedResolver(typeface));
            Fonts.Default = Name;
            Fonts.Sans = Name;
            Fonts.Serif = Name;
            Fonts.Monospace = Name;
            _registered = true;
        }
    }

    /// <summary>Points a ScottPlot label style at the pinned font.</summary>
    public static void Apply(LabelStyle style)
    {
        style.FontName = Name;
        style.Italic = false;
    }

    /// <summary>An <see cref="SKFont"/> of the pinned typeface, for measuring text before laying a figure out.</summary>
    public static SKFont CreateFont(float size) => new(Typeface, size) { Subpixel = true, Edging = SKFontEdging.Antialias };

    private static Stream OpenResource() =>
        typeof(FigureFont).Assembly.GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException($"embedded font {ResourceName} is missing from {typeof(FigureFont).Assembly.GetName().Name}");

    private static SKTypeface Load()
    {
        var data = SKData.CreateCopy(ReadFontBytes());
        return SKTypeface.FromData(data)
            ?? throw new InvalidOperationException($"SkiaSharp could not load the embedded font {ResourceName}");
    }

    private sealed class PinnedResolver(SKTypeface typeface) : IFontResolver
    {
        public SKTypeface CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) => typeface;

        public SKTypeface CreateTypeface(string fontName, bool bold, bool italic) => typeface;
    }
}
