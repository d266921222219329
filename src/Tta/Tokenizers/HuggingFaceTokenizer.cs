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
public sealed partial class HuggingFaceTokenizer : ITextTokenizer
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
