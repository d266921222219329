using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tta.Tokenizers;

// The pre-tokenizers of tokenizer.json (Sequence, ByteLevel, Metaspace, Split, Punctuation, Digits, WhitespaceSplit,
// Whitespace, BertPreTokenizer) with their split behaviours, and the GPT-2 split ByteLevel relies on.
public sealed partial class HuggingFaceTokenizer
{
    // ---- pre-tokenizers ----------------------------------------------------------------------------------------------

    private static Func<List<Piece>, List<Piece>> BuildPreTokenizer(JsonNode? node)
    {
        if (node is not JsonObject n) return pieces => pieces;
        var type = Str(n["type"]);
        switch (type)
        {
            case "Sequence":
                var parts = (n["pretokenizers"] as JsonArray ?? []).Select(BuildPreTokenizer).ToArray();
                return pieces => parts.Aggregate(pieces, (acc, f) => f(acc));
            case "ByteLevel":
                bool prefixSpace = Bool(n["add_prefix_space"]) ?? true, useRegex = Bool(n["use_regex"]) ?? true;
                return pieces =>
                {
                    var result = new List<Piece>(pieces.Count * 4);
                    foreach (var p in pieces)
                    {
                        var text = prefixSpace && !p.Text.StartsWith(' ') ? " " + p.Text : p.Text;
                        if (!useRegex)
                        {
                            if (text.Length > 0) result.Add(new Piece(BpeModel.ToByteLevel(text), p.AtStart ? 1 : 0));
                            continue;
                        }
                        var k = 0;
                        foreach (var (start, length) in Gpt2Spans(text))
                            result.Add(new Piece(BpeModel.ToByteLevel(text.AsSpan(start, length)), p.AtStart && k++ == 0 ? 1 : 0));
                    }
                    return result;
                };
            case "Metaspace":
                var replacement = Str(n["replacement"]) ?? "\u2581";
                var scheme = Str(n["prepend_scheme"]) ?? ((Bool(n["add_prefix_space"]) ?? true) ? "always" : "never");
                var split = Bool(n["split"]) ?? true;
                return pieces => pieces.SelectMany(p =>
                {
                    var text = p.Text.Replace(" ", replacement, StringComparison.Ordinal);
                    if (!text.StartsWith(replacement, StringComparison.Ordinal) && (scheme == "always" || scheme == "first" && p.AtStart))
                        text = replacement + text;
                    var parts = split ? SplitOn(text, Matches(text, replacement), "MergedWithNext", false) : [(0, text.Length)];
                    return parts.Where(g => g.End > g.Start).Select(g => new Piece(text[g.Start..g.End], p.AtStart && g.Start == 0 ? 1 : 0));
                }).ToList();
            case "Split":
                var behavior = Str(n["behavior"]) ?? "Isolated";
                var invert = Bool(n["invert"]) ?? false;
                Func<string, List<(int, int)>> find;
                if (n["pattern"]?["String"] is JsonValue sv)
                {
                    var literal = sv.GetValue<string>();
                    find = s => Matches(s, literal);
                }
                else if (n["pattern"]?["Regex"] is JsonValue rv)
                {
                    var regex = new Regex(rv.GetValue<string>(), RegexOptions.CultureInvariant);
                    find = s => regex.Matches(s).Where(m => m.Length > 0).Select(m => (m.Index, m.Index + m.Length)).ToList();
                }
                else throw new NotSupportedException("tokenizer.json: Split pre-tokenizer without a pattern");
                return pieces => Each(pieces, t => SplitOn(t, find(t), behavior, invert));
            case "Punctuation":
                var pb = Str(n["behavior"]) ?? "Isolated";
                return pieces => Each(pieces, t => SplitOn(t, CharMatches(t, HuggingFaceCharClass.Punctuation), pb, false));
            case "Digits":
                var individual = Bool(n["individual_digits"]) ?? false;
                return pieces => Each(pieces, t => SplitOn(t, CharMatches(t, HuggingFaceCharClass.Numeric),
                    individual ? "Isolated" : "Contiguous", false));
            case "WhitespaceSplit":
                return pieces => Each(pieces, WhitespaceSplit);
            case "Whitespace":
                return pieces => Each(pieces, WordsAndSymbols);
            case "BertPreTokenizer":
                // tokenizers: split on whitespace (removed), then on punctuation (isolated)
                return pieces => Each(Each(pieces, WhitespaceSplit), t => SplitOn(t, CharMatches(t, HuggingFaceCharClass.Punctuation), "Isolated", false));
            default:
                throw new NotSupportedException($"tokenizer.json: pre-tokenizer '{type}' is not supported");
        }
    }

    /// <summary>Splits every piece into the spans <paramref name="split"/> finds, each keeping what of its text has
    /// original offset 0.</summary>
    private static List<Piece> Each(List<Piece> pieces, Func<string, List<(int Start, int End)>> split)
    {
        var result = new List<Piece>(pieces.Count * 2);
        foreach (var p in pieces)
            foreach (var (start, end) in split(p.Text))
                if (end > start) result.Add(new Piece(p.Text[start..end], Math.Clamp(p.Zero - start, 0, end - start)));
        return result;
    }

    private static List<(int, int)> WhitespaceSplit(string s) => SplitOn(s, CharMatches(s, HuggingFaceCharClass.WhiteSpace), "Removed", false);

    private static List<(int, int)> Matches(string s, string literal)
    {
        var list = new List<(int, int)>();
        if (literal.Length == 0) return list;
        for (var i = s.IndexOf(literal, StringComparison.Ordinal); i >= 0; i = s.IndexOf(literal, i + literal.Length, StringComparison.Ordinal))
            list.Add((i, i + literal.Length));
        return list;
    }

    private static List<(int, int)> CharMatches(string s, HuggingFaceCharClass classes)
    {
        var list = new List<(int, int)>();
        for (var i = 0; i < s.Length;)
        {
            Rune.DecodeFromUtf16(s.AsSpan(i), out var r, out var len);
            if (HuggingFaceUnicode.Is(r.Value, classes)) list.Add((i, i + len));
            i += Math.Max(1, len);
        }
        return list;
    }

    /// <summary>The Whitespace pre-tokenizer, the regex crate's <c>\w+|[^\w\s]+</c> over code points.</summary>
    private static List<(int, int)> WordsAndSymbols(string s)
    {
        var list = new List<(int, int)>();
        var start = -1;
        var startWord = false;
        for (var i = 0; i <= s.Length;)
        {
            var len = 1;
            var kind = 0; // 0 space or end, 1 word, 2 symbol
            if (i < s.Length)
            {
                Rune.DecodeFromUtf16(s.AsSpan(i), out var r, out len);
                var c = HuggingFaceUnicode.Classes(r.Value);
                kind = (c & HuggingFaceCharClass.RegexWord) != 0 ? 1 : (c & HuggingFaceCharClass.RegexSpace) != 0 ? 0 : 2;
            }
            if (start >= 0 && (kind == 0 || (kind == 1) != startWord))
            {
                list.Add((start, i));
                start = -1;
            }
            if (kind != 0 && start < 0)
            {
                start = i;
                startWord = kind == 1;
            }
            i += Math.Max(1, len);
        }
        return list;
    }

    /// <summary>The tokenizers library's SplitDelimiterBehavior applied to sorted, non-overlapping matches.</summary>
    private static List<(int Start, int End)> SplitOn(string s, List<(int Start, int End)> matches, string behavior, bool invert)
    {
        var segments = new List<(int Start, int End, bool Match)>();
        var at = 0;
        foreach (var (start, end) in matches)
        {
            if (start > at) segments.Add((at, start, false));
            segments.Add((start, end, true));
            at = end;
        }
        if (at < s.Length) segments.Add((at, s.Length, false));
        if (invert) segments = segments.Select(g => (g.Start, g.End, !g.Match)).ToList();
        var spans = new List<(int Start, int End)>();
        var previousMatch = false;
        switch (behavior)
        {
            case "Removed":
                spans = segments.Where(g => !g.Match).Select(g => (g.Start, g.End)).ToList();
                break;
            case "Isolated":
                spans = segments.Select(g => (g.Start, g.End)).ToList();
                break;
            case "MergedWithPrevious":
                foreach (var g in segments)
                {
                    if (g.Match && !previousMatch && spans.Count > 0) spans[^1] = (spans[^1].Start, g.End);
                    else spans.Add((g.Start, g.End));
                    previousMatch = g.Match;
                }
                break;
            case "MergedWithNext":
                for (var k = segments.Count - 1; k >= 0; k--)
                {
                    var g = segments[k];
                    if (g.Match && !previousMatch && spans.Count > 0) spans[^1] = (g.Start, spans[^1].End);
                    else spans.Add((g.Start, g.End));
                    previousMatch = g.Match;
                }
                spans.Reverse();
                break;
            case "Contiguous":
                foreach (var g in segments)
                {
                    if (g.Match == previousMatch && spans.Count > 0) spans[^1] = (spans[^1].Start, g.End);
                    else spans.Add((g.Start, g.End));
                    previousMatch = g.Match;
                }
                break;
            default:
                throw new NotSupportedException($"tokenizer.json: split behavior '{behavior}' is not supported");
        }
        return spans.Where(p => p.End > p.Start).ToList();
    }

    /// <summary>
    /// GPT-2's pre-tokenisation pattern
    /// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, matched over code points
    /// with Oniguruma's classes as Hugging Face's build has them (<see cref="HuggingFaceUnicode"/>).
    /// </summary>
    public static List<string> Gpt2Split(string text) => Gpt2Spans(text).Select(s => text.Substring(s.Start, s.Length)).ToList();

    /// <summary><see cref="Gpt2Split"/> as (start, length) spans of the UTF-16 text.</summary>
    public static List<(int Start, int Length)> Gpt2Spans(string text)
    {
        var result = new List<(int, int)>(text.Length / 4 + 1);
        var i = 0;
        while (i < text.Length)
        {
            var end = MatchAt(text, i);
            result.Add((i, end - i));
            i = end;
        }
        return result;

        static int MatchAt(string s, int i)
        {
            // 's 't 're 've 'm 'll 'd
            if (s[i] == '\'' && i + 1 < s.Length)
            {
                var c = s[i + 1];
                if (c is 's' or 't' or 'm' or 'd') return i + 2;
                if (i + 2 < s.Length && (c == 'r' && s[i + 2] == 'e' || c == 'v' && s[i + 2] == 'e' || c == 'l' && s[i + 2] == 'l')) return i + 3;
            }
            //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
            var body = s[i] == ' ' && i + 1 < s.Length ? i + 1 : i;
            var kind = Kind(s, body, out var width);
            if (kind != Space)
            {
                var end = body + width;
                while (end < s.Length && Kind(s, end, out width) == kind) end += width;
                return end;
            }
            // \s+(?!\S) | \s+ (every \s character is one UTF-16 unit)
            var run = i;
            while (run < s.Length && Kind(s, run, out _) == Space) run++;
            if (run == s.Length || run - i == 1) return run;
            return run - 1;
        }
    }

    private const int Letter = 1, Number = 2, Space = 3, Other = 4;

    private static int Kind(string s, int at, out int width)
    {
        var c = s[at];
        int cp = c;
        width = 1;
        if (char.IsHighSurrogate(c) && at + 1 < s.Length && char.IsLowSurrogate(s[at + 1]))
        {
            cp = char.ConvertToUtf32(c, s[at + 1]);
            width = 2;
        }
        else if (char.IsSurrogate(c)) cp = 0xFFFD; // a lone surrogate reaches Rust as U+FFFD
        var classes = HuggingFaceUnicode.Classes(cp);
        return (classes & HuggingFaceCharClass.OnigLetter) != 0 ? Letter
            : (classes & HuggingFaceCharClass.OnigNumber) != 0 ? Number
            : (classes & HuggingFaceCharClass.OnigSpace) != 0 ? Space : Other;
    }
}
