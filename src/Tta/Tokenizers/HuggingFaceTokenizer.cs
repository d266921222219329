using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tta.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> run as the tokenizers library runs <c>encode(text)</c> with special tokens added:
/// added tokens split out of the raw text, each remaining segment normalised, pre-tokenised, tokenised by the model
/// (BPE, Unigram, WordLevel), then the post-processor's template. A WordPiece model (BERT) is handed to
/// <see cref="BertWordPieceTokenizer"/>. Characters are classified with Hugging Face's own tables
/// (<see cref="HuggingFaceUnicode"/>). Components this class does not implement raise <see cref="NotSupportedException"/>
/// when the file is loaded; what is checked against Hugging Face, and what is not, is listed in src/Tta/Tokenizers/README.md.
/// </summary>
public sealed class HuggingFaceTokenizer : ITextTokenizer
{
    /// <summary>
    /// A pre-token: its text and how many of its leading UTF-16 units come from the input's first character (original
    /// offset 0, which is what Metaspace's "first" prepend scheme asks for).
    /// </summary>
    private readonly record struct Piece(string Text, int Zero)
    {
        public bool AtStart => Zero > 0;
    }

    private sealed record AddedToken(int Id, string Content, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

    private readonly Normalizer normalizer;
    private readonly Func<List<Piece>, List<Piece>> preTokenize;
    private readonly Action<string, List<(int Id, string Token)>> model;
    private readonly Func<List<(int Id, string Token)>, List<(int Id, string Token)>> postProcess;
    private readonly AddedToken[] rawAdded;
    private readonly AddedToken[] normalizedAdded;

    private HuggingFaceTokenizer(JsonObject json)
    {
        normalizer = BuildNormalizer(json["normalizer"]);
        preTokenize = BuildPreTokenizer(json["pre_tokenizer"]);
        var modelJson = json["model"] as JsonObject ?? throw new InvalidDataException("tokenizer.json: no model");
        model = BuildModel(modelJson);
        var added = (json["added_tokens"] as JsonArray ?? []).OfType<JsonObject>().Select(a => new AddedToken(
            a["id"]!.GetValue<int>(), a["content"]!.GetValue<string>(), Bool(a["single_word"]) ?? false,
            Bool(a["lstrip"]) ?? false, Bool(a["rstrip"]) ?? false, Bool(a["normalized"]) ?? false)).ToList();
        Vocabulary = BertWordPieceTokenizer.WithAdded(modelVocabulary, AddedById(json));
        added = added.Where(a => a.Content.Length > 0).ToList();
        rawAdded = [.. added.Where(a => !a.Normalized).OrderByDescending(a => a.Content.Length)];
        normalizedAdded = [.. added.Where(a => a.Normalized).Select(a => a with { Content = normalizer.Apply(a.Content) })
            .Where(a => a.Content.Length > 0).OrderByDescending(a => a.Content.Length)];
        postProcess = BuildPostProcessor(json["post_processor"]);
    }

    /// <summary>Loads <c>tokenizer.json</c> (a path to the file or to the directory holding it).</summary>
    public static ITextTokenizer Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        var json = JsonNode.Parse(File.ReadAllText(file, Encoding.UTF8)) as JsonObject
            ?? throw new InvalidDataException($"{file}: not a JSON object");
        if (json["model"] is JsonObject m && Str(m["type"]) == "WordPiece") return WordPiece(json, m);
        return new HuggingFaceTokenizer(json);
    }

    public IReadOnlyList<string?> Vocabulary { get; }

    /// <summary>The model's own tokens by id (set by <see cref="BuildModel"/>); added tokens are laid over them.</summary>
    private string?[] modelVocabulary = [];

    /// <summary>tokenizer.json's <c>added_tokens</c> by id (the last entry for an id wins, as the file is read in order).</summary>
    private static Dictionary<int, string> AddedById(JsonObject json)
    {
        var byId = new Dictionary<int, string>();
        foreach (var a in (json["added_tokens"] as JsonArray ?? []).OfType<JsonObject>())
            if (a["id"] is JsonValue id && id.TryGetValue<int>(out var i) && Str(a["content"]) is { } content) byId[i] = content;
        return byId;
    }

    /// <summary>Tokens by id from a token → id map (a missing id stays null).</summary>
    private static string?[] ById(IReadOnlyDictionary<string, int> vocab)
    {
        var list = new string?[vocab.Count == 0 ? 0 : Math.Max(0, vocab.Values.Max() + 1)];
        foreach (var (token, id) in vocab) if (id >= 0) list[id] = token;
        return list;
    }

    public TokenizedText Encode(string text)
    {
        var tokens = new List<(int Id, string Token)>();
        foreach (var (segment, rawToken, segmentAtStart) in SplitAdded(text, rawAdded))
        {
            if (rawToken is not null)
            {
                tokens.Add((rawToken.Id, rawToken.Content));
                continue;
            }
            var normalized = normalizer.Apply(segment);
            var zero = segmentAtStart && segment.Length > 0 ? Units(normalized, normalizer.Aligned(segment, 1)) : 0;
            var offset = 0;
            foreach (var (part, token, _) in SplitAdded(normalized, normalizedAdded))
            {
                var partOffset = offset;
                offset += part.Length;
                if (token is not null)
                {
                    tokens.Add((token.Id, token.Content));
                    continue;
                }
                foreach (var p in preTokenize([new Piece(part, Math.Clamp(zero - partOffset, 0, part.Length))])) model(p.Text, tokens);
            }
        }
        tokens = postProcess(tokens);
        var ids = new long[tokens.Count];
        var strings = new string[tokens.Count];
        for (var i = 0; i < tokens.Count; i++) (ids[i], strings[i]) = (tokens[i].Id, tokens[i].Token);
        return new TokenizedText(ids, strings);
    }

    /// <summary>The normalizer alone (tests compare it with Hugging Face's <c>normalizeString</c>).</summary>
    internal string Normalize(string text) => normalizer.Apply(text);

    /// <summary>The pre-tokenizer alone, on text that starts the input (as Hugging Face's <c>preTokenizeString</c>).</summary>
    internal List<string> PreTokenize(string text) => text.Length == 0 ? [] : preTokenize([new Piece(text, Units(text, 1))]).Select(p => p.Text).ToList();

    /// <summary>Empties the BPE word cache, if the model has one (benchmarks time first encodes).</summary>
    public void ClearCache() => bpeModel?.ClearCache();

    // ---- added tokens ------------------------------------------------------------------------------------------------

    /// <summary>
    /// The added tokens found as tokenizers' <c>find_matches</c> finds them: leftmost-longest, non-overlapping matches
    /// (Aho-Corasick), a single-word token dropped where a word character (the regex crate's <c>\w</c>) touches it,
    /// lstrip/rstrip taking the whitespace (<c>\s</c>) beside it. Returns (text, token or null, starts the input).
    /// </summary>
    private static List<(string Text, AddedToken? Token, bool AtStart)> SplitAdded(string text, AddedToken[] added)
    {
        var result = new List<(string, AddedToken?, bool)>();
        var segmentStart = 0;
        var i = 0;
        while (i < text.Length && added.Length > 0)
        {
            AddedToken? match = null;
            foreach (var a in added) // longest first
            {
                if (i + a.Content.Length <= text.Length && string.CompareOrdinal(text, i, a.Content, 0, a.Content.Length) == 0)
                {
                    match = a;
                    break;
                }
            }
            if (match is null)
            {
                i++;
                continue;
            }
            var start = i;
            var end = i + match.Content.Length;
            i = end; // a discarded match is still consumed, as Aho-Corasick's iterator does
            if (match.SingleWord && (start > 0 && IsWordBefore(text, start) || end < text.Length && IsWordAt(text, end))) continue;
            if (match.LStrip) while (start > segmentStart && IsSpaceBefore(text, start, out var width)) start -= width;
            if (match.RStrip) while (end < text.Length && IsSpaceAt(text, end, out var width)) end += width;
            if (start > segmentStart) result.Add((text[segmentStart..start], null, segmentStart == 0));
            result.Add((text[start..end], match, start == 0));
            segmentStart = i = end;
        }
        if (segmentStart < text.Length) result.Add((text[segmentStart..], null, segmentStart == 0));
        return result;
    }

    private static bool IsWordAt(string s, int at) =>
        HuggingFaceUnicode.Is(Rune.GetRuneAt(s, at).Value, HuggingFaceCharClass.RegexWord);

    private static bool IsWordBefore(string s, int at) =>
        Rune.DecodeLastFromUtf16(s.AsSpan(0, at), out var r, out _) == System.Buffers.OperationStatus.Done
        && HuggingFaceUnicode.Is(r.Value, HuggingFaceCharClass.RegexWord);

    private static bool IsSpaceAt(string s, int at, out int width)
    {
        width = 1; // every \s character is in the BMP
        return HuggingFaceUnicode.Is(s[at], HuggingFaceCharClass.RegexSpace);
    }

    private static bool IsSpaceBefore(string s, int at, out int width)
    {
        width = 1;
        return HuggingFaceUnicode.Is(s[at - 1], HuggingFaceCharClass.RegexSpace);
    }

    private static bool IsWhiteSpace(char c) => HuggingFaceUnicode.Is(c, HuggingFaceCharClass.WhiteSpace);

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

    // ---- models ------------------------------------------------------------------------------------------------------

    private BpeModel? bpeModel;

    private Action<string, List<(int, string)>> BuildModel(JsonObject m)
    {
        var type = Str(m["type"]);
        switch (type)
        {
            case "BPE":
                {
                    var vocab = (m["vocab"] as JsonObject ?? throw new InvalidDataException("tokenizer.json: BPE without vocab"))
                        .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);
                    var merges = (m["merges"] as JsonArray ?? []).Select(x => x switch
                    {
                        JsonArray pair => (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()),
                        JsonValue v when v.GetValue<string>().Split(' ') is [var a, var b] => (a, b),
                        _ => throw new InvalidDataException($"tokenizer.json: bad merge {x?.ToJsonString()}"),
                    }).ToList();
                    modelVocabulary = ById(vocab);
                    var bpe = bpeModel = new BpeModel(vocab, merges, Str(m["continuing_subword_prefix"]))
                    {
                        UnknownToken = Str(m["unk_token"]),
                        EndOfWordSuffix = Str(m["end_of_word_suffix"]),
                        FuseUnknown = Bool(m["fuse_unk"]) ?? false,
                        ByteFallback = Bool(m["byte_fallback"]) ?? false,
                        IgnoreMerges = Bool(m["ignore_merges"]) ?? false,
                    };
                    if (m["dropout"] is JsonValue d && d.TryGetValue<double>(out var p) && p > 0)
                        throw new NotSupportedException("tokenizer.json: BPE dropout is not supported (ids would be random)");
                    return (word, into) =>
                    {
                        foreach (var id in bpe.Tokenize(word.AsSpan())) into.Add((id, bpe.Token(id)));
                    };
                }
            case "Unigram":
                {
                    var entries = (m["vocab"] as JsonArray ?? throw new InvalidDataException("tokenizer.json: Unigram without vocab"))
                        .Select(e => (e![0]!.GetValue<string>(), e[1]!.GetValue<double>())).ToList();
                    var unk = m["unk_id"] is JsonValue u && u.TryGetValue<int>(out var ui) ? ui
                        : throw new NotSupportedException("tokenizer.json: Unigram without unk_id is not supported");
                    modelVocabulary = [.. entries.Select(e => e.Item1)];
                    var unigram = new UnigramModel(entries.Select(e => e.Item1).ToList(), entries.Select(e => e.Item2).ToList(),
                        _ => true, unk, entries.Count == 0 ? 0 : entries.Min(e => e.Item2), Bool(m["byte_fallback"]) ?? false,
                        singlePrecision: false);
                    return (word, into) => into.AddRange(unigram.Encode(word));
                }
            case "WordLevel":
                {
                    var vocab = (m["vocab"] as JsonObject ?? throw new InvalidDataException("tokenizer.json: WordLevel without vocab"))
                        .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);
                    var unkToken = Str(m["unk_token"]);
                    modelVocabulary = ById(vocab);
                    return (word, into) => into.Add(vocab.TryGetValue(word, out var id) ? (id, word)
                        : unkToken is not null && vocab.TryGetValue(unkToken, out var unk) ? (unk, unkToken)
                        : throw new InvalidDataException($"WordLevel: '{word}' is not in the vocabulary and there is no unknown token"));
                }
            default:
                throw new NotSupportedException($"tokenizer.json: model '{type}' is not supported");
        }
    }

    /// <summary>A WordPiece tokenizer.json: BERT's pipeline, with the vocabulary, lower-casing and [CLS]/[SEP] from the file.</summary>
    private static BertWordPieceTokenizer WordPiece(JsonObject json, JsonObject m)
    {
        if (json["normalizer"] is JsonObject n && Str(n["type"]) != "BertNormalizer")
            throw new NotSupportedException($"tokenizer.json: WordPiece with normalizer '{Str(n["type"])}' is not supported");
        if (json["pre_tokenizer"] is JsonObject p && Str(p["type"]) != "BertPreTokenizer")
            throw new NotSupportedException($"tokenizer.json: WordPiece with pre-tokenizer '{Str(p["type"])}' is not supported");
        var vocab = (m["vocab"] as JsonObject ?? throw new InvalidDataException("tokenizer.json: WordPiece without vocab"))
            .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);
        var list = new string[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab) list[id] = token;
        for (var i = 0; i < list.Length; i++) list[i] ??= $"[unused-id-{i}]";
        var normalizer = json["normalizer"] as JsonObject;
        var lower = Bool(normalizer?["lowercase"]) ?? false;
        string cls = "[CLS]", sep = "[SEP]";
        if (json["post_processor"] is JsonObject pp)
        {
            if (Str(pp["type"]) is "BertProcessing" or "RobertaProcessing")
            {
                cls = pp["cls"]![0]!.GetValue<string>();
                sep = pp["sep"]![0]!.GetValue<string>();
            }
            else if (Str(pp["type"]) == "TemplateProcessing" && pp["single"] is JsonArray single)
            {
                var specials = single.Select(x => Str(x?["SpecialToken"]?["id"])).ToList();
                if (specials.Count != 3 || specials[0] is null || specials[1] is not null || specials[2] is null)
                    throw new NotSupportedException("tokenizer.json: WordPiece with a template other than [CLS] $A [SEP]");
                cls = specials[0]!;
                sep = specials[2]!;
            }
        }
        var special = (json["added_tokens"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(a => Bool(a["special"]) ?? false).Select(a => a["content"]!.GetValue<string>()).ToList();
        return new BertWordPieceTokenizer(list, lower, Bool(normalizer?["strip_accents"]),
            Bool(normalizer?["handle_chinese_chars"]) ?? true, Str(m["unk_token"]) ?? "[UNK]", cls, sep,
            Str(m["continuing_subword_prefix"]) ?? "##", m["max_input_chars_per_word"]?.GetValue<int>() ?? 100,
            special.Count > 0 ? special : null, Bool(normalizer?["clean_text"]) ?? true)
        {
            AddedTokens = AddedById(json),
        };
    }

    // ---- post-processors ---------------------------------------------------------------------------------------------

    private static Func<List<(int, string)>, List<(int, string)>> BuildPostProcessor(JsonNode? node)
    {
        if (node is not JsonObject n) return t => t;
        var type = Str(n["type"]);
        switch (type)
        {
            case "ByteLevel":
                return t => t; // offsets only
            case "Sequence":
                var parts = (n["processors"] as JsonArray ?? []).Select(BuildPostProcessor).ToArray();
                return t => parts.Aggregate(t, (acc, f) => f(acc));
            case "BertProcessing":
            case "RobertaProcessing":
                var cls = (n["cls"]![1]!.GetValue<int>(), n["cls"]![0]!.GetValue<string>());
                var sep = (n["sep"]![1]!.GetValue<int>(), n["sep"]![0]!.GetValue<string>());
                return t => [cls, .. t, sep];
            case "TemplateProcessing":
                var specials = n["special_tokens"] as JsonObject ?? [];
                var template = (n["single"] as JsonArray ?? []).Select(item =>
                {
                    if (item?["Sequence"] is not null) return null;
                    var id = Str(item?["SpecialToken"]?["id"]) ?? throw new InvalidDataException("tokenizer.json: bad template item");
                    var sp = specials[id] ?? throw new InvalidDataException($"tokenizer.json: template special token '{id}' undefined");
                    var ids = sp["ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
                    var toks = sp["tokens"]!.AsArray().Select(x => x!.GetValue<string>()).ToArray();
                    return ids.Zip(toks).Select(z => (z.First, z.Second)).ToList();
                }).ToList();
                return t =>
                {
                    var result = new List<(int, string)>();
                    foreach (var item in template) result.AddRange(item ?? t);
                    return result;
                };
            default:
                throw new NotSupportedException($"tokenizer.json: post-processor '{type}' is not supported");
        }
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    private static bool? Bool(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
}
