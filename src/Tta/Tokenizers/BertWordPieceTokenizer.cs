using System.Text;
using System.Text.Json.Nodes;

namespace Tta.Tokenizers;

/// <summary>
/// BERT's tokenizer: text clean-up, CJK ideographs split, accents stripped and lower-cased (for uncased vocabularies),
/// split on whitespace and punctuation, then greedy longest-match-first WordPiece over vocab.txt, wrapped as
/// <c>[CLS] … [SEP]</c>. Special tokens written literally in the text (e.g. <c>[MASK]</c>) are kept whole, as the
/// Hugging Face tokenizers do. Token strings (<c>##</c> continuation pieces included) label activation axes.
/// </summary>
public sealed class BertWordPieceTokenizer : ITextTokenizer
{
    private readonly Dictionary<string, int> ids;
    private readonly string[] tokens;
    private readonly string[] specialTokens;
    private readonly int unkId, clsId, sepId;

    public bool LowerCase { get; }
    public bool StripAccents { get; }
    public bool SplitChineseCharacters { get; }
    public bool CleanText { get; }
    public int MaxInputCharsPerWord { get; }
    public string ContinuingSubwordPrefix { get; }
    public string UnknownToken { get; }
    /// <summary>The WordPiece vocabulary (index = id), as the tokenizer matches it.</summary>
    public IReadOnlyList<string> WordPieces => tokens;

    /// <summary>Added tokens by id (tokenizer.json's <c>added_tokens</c>), which name their ids ahead of the vocabulary.</summary>
    public IReadOnlyDictionary<int, string>? AddedTokens { get; init; }

    public IReadOnlyList<string?> Vocabulary => vocabulary ??= WithAdded(tokens, AddedTokens);
    private string?[]? vocabulary;

    /// <summary><paramref name="tokens"/> (index = id) with <paramref name="added"/> laid over it, grown to hold every added id.</summary>
    internal static string?[] WithAdded(IReadOnlyList<string?> tokens, IReadOnlyDictionary<int, string>? added)
    {
        var size = Math.Max(tokens.Count, added is { Count: > 0 } ? added.Keys.Max() + 1 : 0);
        var result = new string?[size];
        for (var i = 0; i < tokens.Count; i++) result[i] = tokens[i];
        foreach (var (id, content) in added ?? new Dictionary<int, string>()) if (id >= 0) result[id] = content;
        return result;
    }

    public BertWordPieceTokenizer(IReadOnlyList<string> vocabulary, bool lowerCase, bool? stripAccents = null,
        bool splitChineseCharacters = true, string unknownToken = "[UNK]", string clsToken = "[CLS]",
        string sepToken = "[SEP]", string continuingSubwordPrefix = "##", int maxInputCharsPerWord = 100,
        IEnumerable<string>? specialTokens = null, bool cleanText = true)
    {
        CleanText = cleanText;
        tokens = vocabulary.ToArray();
        ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (var i = 0; i < tokens.Length; i++) ids.TryAdd(tokens[i], i); // the first occurrence wins, as in HF
        LowerCase = lowerCase;
        StripAccents = stripAccents ?? lowerCase; // BERT: accents go with lower-casing unless set explicitly
        SplitChineseCharacters = splitChineseCharacters;
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        MaxInputCharsPerWord = maxInputCharsPerWord;
        UnknownToken = unknownToken;
        unkId = Id(unknownToken);
        clsId = Id(clsToken);
        sepId = Id(sepToken);
        this.specialTokens = (specialTokens ?? [unknownToken, clsToken, sepToken, "[PAD]", "[MASK]"])
            .Where(ids.ContainsKey).Distinct().OrderByDescending(t => t.Length).ToArray();
    }

    private int Id(string token) => ids.TryGetValue(token, out var id) ? id
        : throw new InvalidDataException($"vocab.txt has no '{token}' token");

    /// <summary>
    /// Loads <c>vocab.txt</c> from a checkpoint directory. Lower-casing follows tokenizer_config.json
    /// (<c>do_lower_case</c>, <c>strip_accents</c>, <c>tokenize_chinese_chars</c>), else tokenizer.json's BertNormalizer,
    /// else the vocabulary itself (uncased when no ordinary token has an upper-case letter).
    /// </summary>
    public static BertWordPieceTokenizer Load(string directory)
    {
        var vocabPath = Path.Combine(directory, "vocab.txt");
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"{directory}: no vocab.txt (not a BERT WordPiece tokenizer)");
        var vocab = ReadVocab(vocabPath);
        bool? lower = null, strip = null, chinese = null;
        string unk = "[UNK]", prefix = "##";
        var maxChars = 100;
        var tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig) && JsonNode.Parse(File.ReadAllText(tokenizerConfig)) is JsonObject tc)
        {
            lower = Bool(tc["do_lower_case"]);
            strip = Bool(tc["strip_accents"]);
            chinese = Bool(tc["tokenize_chinese_chars"]);
            if (tc["unk_token"] is JsonValue u && u.TryGetValue<string>(out var us)) unk = us;
        }
        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson) && JsonNode.Parse(File.ReadAllText(tokenizerJson)) is JsonObject tj)
        {
            if (tj["normalizer"] is JsonObject n && n["type"]?.GetValue<string>() == "BertNormalizer")
            {
                lower ??= Bool(n["lowercase"]);
                strip ??= Bool(n["strip_accents"]);
                chinese ??= Bool(n["handle_chinese_chars"]);
            }
            if (tj["model"] is JsonObject m && m["type"]?.GetValue<string>() == "WordPiece")
            {
                if (m["unk_token"] is JsonValue mu && mu.TryGetValue<string>(out var mus)) unk = mus;
                if (m["continuing_subword_prefix"] is JsonValue cp && cp.TryGetValue<string>(out var cps)) prefix = cps;
                if (m["max_input_chars_per_word"] is JsonValue mc && mc.TryGetValue<int>(out var mci)) maxChars = mci;
            }
        }
        lower ??= VocabularyLooksUncased(vocab);
        return new BertWordPieceTokenizer(vocab, lower.Value, strip, chinese ?? true, unk,
            continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars);
    }

    /// <summary>
    /// An uncased vocabulary has no ordinary token (outside <c>[SPECIAL]</c> ones) with a letter that lower-cases to
    /// something else; letter-like symbols such as ℝ have no lower case and do not count.
    /// </summary>
    public static bool VocabularyLooksUncased(IEnumerable<string> vocabulary) =>
        !vocabulary.Where(t => !(t.StartsWith('[') && t.EndsWith(']')))
            .Any(t => t.EnumerateRunes().Any(r => Rune.IsUpper(r) && Rune.ToLowerInvariant(r) != r));

    private static bool? Bool(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    /// <summary>vocab.txt: one token per line, the line number is the id (a trailing newline ends the last token).</summary>
    public static List<string> ReadVocab(string path)
    {
        var text = File.ReadAllText(path, Encoding.UTF8);
        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        return lines.Take(count).Select(l => l.TrimEnd('\r')).ToList();
    }

    /// <summary>Ids and token strings of <c>[CLS] text [SEP]</c>.</summary>
    public TokenizedText Encode(string text)
    {
        var pieces = new List<int> { clsId };
        foreach (var (segment, special) in SplitSpecial(text))
        {
            if (special) pieces.Add(ids[segment]);
            else foreach (var word in PreTokenize(Normalize(segment))) WordPiece(word, pieces);
        }
        pieces.Add(sepId);
        return new TokenizedText(pieces.Select(i => (long)i).ToArray(), pieces.Select(i => tokens[i]).ToArray());
    }

    /// <summary>Token strings only (no [CLS]/[SEP]).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        var (_, t) = Encode(text);
        return t[1..^1];
    }

    /// <summary>Splits out special tokens that appear verbatim (they are matched before normalisation).</summary>
    private IEnumerable<(string Text, bool Special)> SplitSpecial(string text)
    {
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            var match = text[i] == '[' ? specialTokens.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0) : null;
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > start) yield return (text[start..i], false);
            yield return (match, true);
            i += match.Length;
            start = i;
        }
        if (start < text.Length) yield return (text[start..], false);
    }

    /// <summary>
    /// BertNormalizer, step for step as Hugging Face's: clean text (drop NUL, U+FFFD and control characters, whitespace
    /// becomes a space), space out CJK ideographs, strip accents (NFD, drop nonspacing marks), lower-case; every
    /// character class from <see cref="HuggingFaceUnicode"/>.
    /// </summary>
    public string Normalize(string text) => BertNormalize(text, CleanText, SplitChineseCharacters, StripAccents, LowerCase);

    /// <inheritdoc cref="Normalize"/>
    public static string BertNormalize(string text, bool cleanText, bool splitChinese, bool stripAccents, bool lowerCase)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            var cp = rune.Value;
            var classes = HuggingFaceUnicode.Classes(cp);
            if (cleanText && (classes & HuggingFaceCharClass.CleanTextRemoves) != 0) continue;
            if (cleanText && (classes & HuggingFaceCharClass.CleanTextSpace) != 0) sb.Append(' ');
            else if (splitChinese && (classes & HuggingFaceCharClass.Chinese) != 0)
            {
                sb.Append(' ');
                HuggingFaceUnicode.AppendCodePoint(sb, cp);
                sb.Append(' ');
            }
            else HuggingFaceUnicode.AppendCodePoint(sb, cp);
        }
        var s = sb.ToString();
        if (stripAccents)
        {
            sb.Clear();
            foreach (var rune in HuggingFaceUnicode.Nfd(s).EnumerateRunes())
                if (!HuggingFaceUnicode.Is(rune.Value, HuggingFaceCharClass.NonspacingMark)) HuggingFaceUnicode.AppendCodePoint(sb, rune.Value);
            s = sb.ToString();
        }
        if (lowerCase)
        {
            sb.Clear();
            foreach (var rune in s.EnumerateRunes()) HuggingFaceUnicode.AppendLowercase(rune.Value, sb);
            s = sb.ToString();
        }
        return s;
    }

    /// <summary>BertPreTokenizer: split on whitespace; every punctuation character is a word of its own.</summary>
    public static List<string> PreTokenize(string text)
    {
        var words = new List<string>();
        var start = 0;
        for (var i = 0; i < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, i);
            var classes = HuggingFaceUnicode.Classes(rune.Value);
            var next = i + rune.Utf16SequenceLength;
            if ((classes & (HuggingFaceCharClass.WhiteSpace | HuggingFaceCharClass.Punctuation)) != 0)
            {
                if (i > start) words.Add(text[start..i]);
                if ((classes & HuggingFaceCharClass.WhiteSpace) == 0) words.Add(text[i..next]);
                start = next;
            }
            i = next;
        }
        if (start < text.Length) words.Add(text[start..]);
        return words;
    }

    /// <summary>Greedy longest-match-first WordPiece; a word with any unmatched remainder becomes the unknown token.</summary>
    private void WordPiece(string word, List<int> into)
    {
        // Work in whole code points (a piece never splits a surrogate pair).
        var bounds = new List<int>();
        for (var i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1) bounds.Add(i);
        bounds.Add(word.Length);
        var chars = bounds.Count - 1;
        if (chars > MaxInputCharsPerWord)
        {
            into.Add(unkId);
            return;
        }
        var found = new List<int>();
        var start = 0;
        while (start < chars)
        {
            var end = chars;
            var match = -1;
            while (end > start)
            {
                var piece = word[bounds[start]..bounds[end]];
                if (start > 0) piece = ContinuingSubwordPrefix + piece;
                if (ids.TryGetValue(piece, out var id))
                {
                    match = id;
                    break;
                }
                end--;
            }
            if (match < 0)
            {
                into.Add(unkId);
                return;
            }
            found.Add(match);
            start = end;
        }
        into.AddRange(found);
    }
}
