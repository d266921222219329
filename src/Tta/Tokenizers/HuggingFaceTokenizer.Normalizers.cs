using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tta.Tokenizers;

// The normalizers of tokenizer.json (Sequence, Replace, Strip, Lowercase, BertNormalizer, Prepend, Precompiled, NFD,
// StripAccents), each with the alignment back to the text it normalised.
public sealed partial class HuggingFaceTokenizer
{
    // ---- normalizers -------------------------------------------------------------------------------------------------

    /// <summary>
    /// A normalizer: the transformation, and how many leading code points of its output come from the first
    /// <c>count</c> code points of its input (tokenizers' alignments, reduced to what Metaspace's "first" scheme needs:
    /// which characters still have original offset 0).
    /// </summary>
    private sealed record Normalizer(Func<string, string> Apply, Func<string, int, int> Aligned)
    {
        public static readonly Normalizer None = new(s => s, (_, count) => count);
    }

    /// <summary>Sums <paramref name="length"/> over the first <paramref name="count"/> code points of <paramref name="s"/>.</summary>
    private static int SumFirst(string s, int count, Func<int, int> length)
    {
        var sum = 0;
        foreach (var r in s.EnumerateRunes())
        {
            if (count-- <= 0) break;
            sum += length(r.Value);
        }
        return sum;
    }

    /// <summary>UTF-16 length of the first <paramref name="codePoints"/> code points of <paramref name="s"/>.</summary>
    private static int Units(string s, int codePoints)
    {
        var i = 0;
        for (; i < s.Length && codePoints > 0; codePoints--) i += char.IsSurrogatePair(s, i) ? 2 : 1;
        return i;
    }

    private static Normalizer BuildNormalizer(JsonNode? node)
    {
        if (node is not JsonObject n) return Normalizer.None;
        var type = Str(n["type"]);
        switch (type)
        {
            case "Sequence":
                var parts = (n["normalizers"] as JsonArray ?? []).Select(BuildNormalizer).ToArray();
                return new(s => parts.Aggregate(s, (acc, f) => f.Apply(acc)), (s, count) =>
                {
                    foreach (var f in parts)
                    {
                        count = f.Aligned(s, count);
                        s = f.Apply(s);
                    }
                    return count;
                });
            case "Replace":
                var content = Str(n["content"]) ?? "";
                if (n["pattern"]?["String"] is JsonValue sv)
                {
                    var find = sv.GetValue<string>();
                    return new(s => find.Length == 0 ? s : s.Replace(find, content, StringComparison.Ordinal),
                        (s, count) => find.Length == 0 || !s.StartsWith(find, StringComparison.Ordinal) ? count
                            : content.Length > 0 ? content.EnumerateRunes().Count() : Math.Max(0, count - find.EnumerateRunes().Count()));
                }
                if (n["pattern"]?["Regex"] is JsonValue rv)
                {
                    var regex = new Regex(rv.GetValue<string>(), RegexOptions.CultureInvariant);
                    return new(s => regex.Replace(s, content.Replace("$", "$$", StringComparison.Ordinal)),
                        (s, count) => regex.Match(s) is not { Success: true, Index: 0, Length: > 0 } m ? count
                            : content.Length > 0 ? content.EnumerateRunes().Count() : Math.Max(0, count - m.Value.EnumerateRunes().Count()));
                }
                throw new NotSupportedException("tokenizer.json: Replace normalizer without a pattern");
            case "Strip":
                bool left = Bool(n["strip_left"]) ?? true, right = Bool(n["strip_right"]) ?? true;
                return new(s =>
                {
                    var start = 0;
                    var end = s.Length;
                    if (left) while (start < end && IsWhiteSpace(s[start])) start++;
                    if (right) while (end > start && IsWhiteSpace(s[end - 1])) end--;
                    return s[start..end];
                }, (s, count) =>
                {
                    var leading = 0;
                    while (left && leading < s.Length && IsWhiteSpace(s[leading])) leading++; // whitespace is all in the BMP
                    return Math.Max(0, count - leading);
                });
            case "Lowercase":
                return new(Lower, (s, count) => SumFirst(s, count, LowercaseLength));
            case "BertNormalizer":
                bool clean = Bool(n["clean_text"]) ?? true, chinese = Bool(n["handle_chinese_chars"]) ?? true,
                    lowercase = Bool(n["lowercase"]) ?? true;
                var strip = Bool(n["strip_accents"]) ?? lowercase;
                return new(s => BertWordPieceTokenizer.BertNormalize(s, clean, chinese, strip, lowercase), (s, count) =>
                {
                    // Per step: clean text drops characters, CJK ones grow to three, accents go after NFD, lower case.
                    Span<int> scratch = stackalloc int[4];
                    var aligned = new List<int>();
                    foreach (var r in s.EnumerateRunes())
                    {
                        if (count-- <= 0) break;
                        var classes = HuggingFaceUnicode.Classes(r.Value);
                        if (clean && (classes & HuggingFaceCharClass.CleanTextRemoves) != 0) continue;
                        var cp = clean && (classes & HuggingFaceCharClass.CleanTextSpace) != 0 ? ' ' : r.Value;
                        if (chinese && (classes & HuggingFaceCharClass.Chinese) != 0) aligned.AddRange([' ', cp, ' ']);
                        else aligned.Add(cp);
                    }
                    var total = 0;
                    foreach (var cp in aligned)
                    {
                        if (!strip) total += lowercase ? LowercaseLength(cp) : 1;
                        else
                            foreach (var d in HuggingFaceUnicode.Decompose(cp, scratch))
                                if (!HuggingFaceUnicode.Is(d, HuggingFaceCharClass.NonspacingMark)) total += lowercase ? LowercaseLength(d) : 1;
                    }
                    return total;
                });
            case "Prepend":
                var prefix = Str(n["prepend"]) ?? "";
                return new(s => s.Length == 0 ? s : prefix + s, (s, count) => s.Length == 0 ? count : count + prefix.EnumerateRunes().Count());
            case "Precompiled":
                var b64 = Str(n["precompiled_charsmap"]);
                if (string.IsNullOrEmpty(b64)) return Normalizer.None;
                var map = new PrecompiledCharsMap(Convert.FromBase64String(b64));
                return new(map.NormalizeLikeTokenizers, (s, count) => count == 0 ? 0 : map.AlignedAtStart(s));
            case "NFD":
                return new(HuggingFaceUnicode.Nfd, (s, count) =>
                {
                    Span<int> scratch = stackalloc int[4];
                    var total = 0;
                    foreach (var r in s.EnumerateRunes())
                    {
                        if (count-- <= 0) break;
                        total += HuggingFaceUnicode.Decompose(r.Value, scratch).Length;
                    }
                    return total;
                });
            case "StripAccents":
                return new(s =>
                {
                    var sb = new StringBuilder(s.Length);
                    foreach (var r in s.EnumerateRunes())
                        if (!HuggingFaceUnicode.Is(r.Value, HuggingFaceCharClass.CombiningMark)) HuggingFaceUnicode.AppendCodePoint(sb, r.Value);
                    return sb.ToString();
                }, (s, count) => SumFirst(s, count, cp => HuggingFaceUnicode.Is(cp, HuggingFaceCharClass.CombiningMark) ? 0 : 1));
            default:
                throw new NotSupportedException($"tokenizer.json: normalizer '{type}' is not supported");
        }
    }

    private static int LowercaseLength(int cp)
    {
        var sb = new StringBuilder(4);
        HuggingFaceUnicode.AppendLowercase(cp, sb);
        return sb.ToString().EnumerateRunes().Count();
    }

    private static string Lower(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var r in s.EnumerateRunes()) HuggingFaceUnicode.AppendLowercase(r.Value, sb);
        return sb.ToString();
    }
}
