using System.Runtime.CompilerServices;
using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// Character classes, lower-casing and NFD exactly as Hugging Face's tokenizers applies them, from the tables of
/// <see cref="HuggingFaceUnicodeData"/> (generated from the library itself; .NET's own Unicode data is a different
/// version for each of them), read once at first use. Lookups are a two-stage table: O(1), no allocation.
/// </summary>
public static class HuggingFaceUnicode
{
    private const int BlockBits = 8;
    private const int BlockSize = 1 << BlockBits;
    private static readonly ushort[] BlockIndex;
    private static readonly ushort[] Blocks;
    private static readonly Dictionary<int, int> LowerSingle = [];
    private static readonly Dictionary<int, int[]> LowerMultiple = [];
    private static readonly Dictionary<int, int[]> DecompositionMap = [];
    private static readonly Dictionary<int, int> Ranks = [];

    // Compiled optimised at once: it runs once, at the first tokenizer's load, over a million code points.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static HuggingFaceUnicode()
    {
        var data = HuggingFaceUnicodeData.Load();
        var flags = new ushort[0x110000];
        foreach (var c in Enum.GetValues<HuggingFaceCharClass>())
        {
            // Every class but those computed here has the table of its name.
            if (c is HuggingFaceCharClass.None or HuggingFaceCharClass.NonStarter) continue;
            foreach (var range in data.Ranges(c.ToString()))
                for (var cp = range[0]; cp < range[1]; cp++) flags[cp] |= (ushort)c;
        }
        foreach (var order in data.Mappings("CanonicalOrder"))
        {
            flags[order[0]] |= (ushort)HuggingFaceCharClass.NonStarter;
            Ranks[order[0]] = order[1];
        }

        // Identical 256-code-point blocks are stored once.
        BlockIndex = new ushort[flags.Length / BlockSize];
        var unique = new Dictionary<string, ushort>(StringComparer.Ordinal);
        var blocks = new List<ushort>();
        for (var b = 0; b < BlockIndex.Length; b++)
        {
            var block = flags.AsSpan(b * BlockSize, BlockSize);
            var key = new string(System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, char>(block));
            if (!unique.TryGetValue(key, out var index))
            {
                index = (ushort)(blocks.Count / BlockSize);
                unique[key] = index;
                blocks.AddRange(block);
            }
            BlockIndex[b] = index;
        }
        Blocks = [.. blocks];

        foreach (var lower in data.Mappings("Lowercase"))
        {
            if (lower.Length == 2) LowerSingle[lower[0]] = lower[1];
            else LowerMultiple[lower[0]] = lower[1..];
        }
        foreach (var decomposition in data.Mappings("Decompositions")) DecompositionMap[decomposition[0]] = decomposition[1..];
    }

    /// <summary>All classes of a code point (0 for anything outside U+0000..U+10FFFF).</summary>
    public static HuggingFaceCharClass Classes(int codePoint) => (uint)codePoint < 0x110000
        ? (HuggingFaceCharClass)Blocks[(BlockIndex[codePoint >> BlockBits] << BlockBits) | (codePoint & (BlockSize - 1))]
        : HuggingFaceCharClass.None;

    public static bool Is(int codePoint, HuggingFaceCharClass any) => (Classes(codePoint) & any) != 0;

    /// <summary>Rust's <c>char::to_lowercase</c>, appended to <paramref name="into"/>.</summary>
    public static void AppendLowercase(int codePoint, StringBuilder into)
    {
        if (codePoint < 0x80)
        {
            into.Append((char)(codePoint is >= 'A' and <= 'Z' ? codePoint + 32 : codePoint));
            return;
        }
        if (LowerSingle.TryGetValue(codePoint, out var lower)) AppendCodePoint(into, lower);
        else if (LowerMultiple.TryGetValue(codePoint, out var many)) foreach (var cp in many) AppendCodePoint(into, cp);
        else AppendCodePoint(into, codePoint);
    }

    /// <summary>The full canonical decomposition of one code point (itself if it has none).</summary>
    public static ReadOnlySpan<int> Decompose(int codePoint, Span<int> scratch)
    {
        const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, TCount = 28, NCount = 588, SCount = 11172;
        if (codePoint is >= SBase and < SBase + SCount)
        {
            var s = codePoint - SBase;
            scratch[0] = LBase + s / NCount;
            scratch[1] = VBase + s % NCount / TCount;
            var t = s % TCount;
            if (t == 0) return scratch[..2];
            scratch[2] = TBase + t;
            return scratch[..3];
        }
        if (DecompositionMap.TryGetValue(codePoint, out var d)) return d;
        scratch[0] = codePoint;
        return scratch[..1];
    }

    /// <summary>NFD as unicode-normalization-alignments computes it: decomposition, then canonical ordering.</summary>
    public static string Nfd(string text)
    {
        var points = new List<int>(text.Length + 8);
        Span<int> scratch = stackalloc int[4];
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            if (value < 0xC0)
            {
                points.Add(value); // nothing below U+00C0 decomposes or reorders
                continue;
            }
            foreach (var cp in Decompose(value, scratch))
            {
                points.Add(cp);
                // Canonical ordering: a non-starter moves left past non-starters of higher class (a stable insertion sort).
                if (!Is(cp, HuggingFaceCharClass.NonStarter)) continue;
                var rank = Ranks[cp];
                var at = points.Count - 1;
                while (at > 0 && Ranks.TryGetValue(points[at - 1], out var before) && before > rank)
                {
                    points[at] = points[at - 1];
                    at--;
                }
                points[at] = cp;
            }
        }
        var sb = new StringBuilder(points.Count);
        foreach (var cp in points) AppendCodePoint(sb, cp);
        return sb.ToString();
    }

    public static void AppendCodePoint(StringBuilder sb, int codePoint)
    {
        if (codePoint < 0x10000)
        {
            sb.Append((char)codePoint);
            return;
        }
        sb.Append((char)(0xD800 + ((codePoint - 0x10000) >> 10)));
        sb.Append((char)(0xDC00 + ((codePoint - 0x10000) & 0x3FF)));
    }
}
