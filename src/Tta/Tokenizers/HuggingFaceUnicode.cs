using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// Character classes, lower-casing and NFD exactly as Hugging Face's tokenizers applies them, from the tables in
/// <see cref="HuggingFaceUnicodeData"/> (generated from the library itself; .NET's own Unicode data is a different
/// version for each of them). Lookups are a two-stage table: O(1), no allocation.
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

    static HuggingFaceUnicode()
    {
        var flags = new ushort[0x110000];
        foreach (var c in Enum.GetValues<HuggingFaceCharClass>())
        {
            var ranges = Ranges(c);
            for (var i = 0; i < ranges.Length; i += 2)
                for (var cp = ranges[i]; cp < ranges[i + 1]; cp++) flags[cp] |= (ushort)c;
        }
        var order = HuggingFaceUnicodeData.CanonicalOrder;
        for (var i = 0; i < order.Length; i += 2)
        {
            flags[order[i]] |= (ushort)HuggingFaceCharClass.NonStarter;
            Ranks[order[i]] = order[i + 1];
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

        foreach (var (cp, to) in Mappings(HuggingFaceUnicodeData.Lowercase))
        {
            if (to.Length == 1) LowerSingle[cp] = to[0];
            else LowerMultiple[cp] = to;
        }
        foreach (var (cp, to) in Mappings(HuggingFaceUnicodeData.Decompositions)) DecompositionMap[cp] = to;
    }

    /// <summary>The generated range table of one class (none for the classes computed here).</summary>
    private static ReadOnlySpan<int> Ranges(HuggingFaceCharClass c) => c switch
    {
        HuggingFaceCharClass.CleanTextRemoves => HuggingFaceUnicodeData.CleanTextRemoves,
        HuggingFaceCharClass.CleanTextSpace => HuggingFaceUnicodeData.CleanTextSpace,
        HuggingFaceCharClass.Chinese => HuggingFaceUnicodeData.Chinese,
        HuggingFaceCharClass.WhiteSpace => HuggingFaceUnicodeData.WhiteSpace,
        HuggingFaceCharClass.Numeric => HuggingFaceUnicodeData.Numeric,
        HuggingFaceCharClass.Punctuation => HuggingFaceUnicodeData.Punctuation,
        HuggingFaceCharClass.NonspacingMark => HuggingFaceUnicodeData.NonspacingMark,
        HuggingFaceCharClass.CombiningMark => HuggingFaceUnicodeData.CombiningMark,
        HuggingFaceCharClass.RegexWord => HuggingFaceUnicodeData.RegexWord,
        HuggingFaceCharClass.RegexSpace => HuggingFaceUnicodeData.RegexSpace,
        HuggingFaceCharClass.OnigLetter => HuggingFaceUnicodeData.OnigLetter,
        HuggingFaceCharClass.OnigNumber => HuggingFaceUnicodeData.OnigNumber,
        HuggingFaceCharClass.OnigSpace => HuggingFaceUnicodeData.OnigSpace,
        _ => [],
    };

    private static List<(int, int[])> Mappings(ReadOnlySpan<int> data)
    {
        var list = new List<(int, int[])>();
        for (var i = 0; i < data.Length; i += 2 + data[i + 1]) list.Add((data[i], data.Slice(i + 2, data[i + 1]).ToArray()));
        return list;
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
