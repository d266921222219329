using System.Globalization;
using System.Text.Json.Nodes;

namespace Tta.Bench;

/// <summary>
/// A tokenizer.json for a synthetic checkpoint, so the pipeline can run it: the vocabulary has the real model's size
/// and special tokens but character-level pieces (about one token per character of text, so a text of N characters
/// is about N tokens), padded with filler pieces that never match (<c>▁tokN</c>, byte-level <c>ĠtokN</c>).
/// <list type="bullet">
/// <item>Unigram (T5): <c>&lt;pad&gt;</c> 0, <c>&lt;/s&gt;</c> 1, <c>&lt;unk&gt;</c> 2, ▁ and every printable ASCII
/// character alone and after ▁, Metaspace pre-tokenizer, <c>&lt;/s&gt;</c> appended, <c>&lt;extra_id_N&gt;</c> at the
/// end of the vocabulary as in T5's.</item>
/// <item>Byte-level BPE (Falcon, Llama): the 256 byte symbols of GPT-2's byte-to-unicode map and no merges, so every
/// byte is a token; <c>&lt;|endoftext|&gt;</c> at 11 as in Falcon's.</item>
/// </list>
/// </summary>
public static class SyntheticTokenizer
{
    public static JsonObject Create(SyntheticTokenizerKind kind, int vocabSize) => kind switch
    {
        SyntheticTokenizerKind.Unigram => Unigram(vocabSize),
        _ => ByteLevel(vocabSize),
    };

    private static JsonObject Added(int id, string content) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = false,
        ["lstrip"] = false,
        ["rstrip"] = false,
        ["normalized"] = false,
        ["special"] = true,
    };

    /// <summary>
    /// A filler piece in the vocabulary's own alphabet: <c>▁tokN</c> for SentencePiece, <c>ĠtokN</c> (byte-level symbols
    /// only) for byte-level BPE, so a nearest-token search that lands on one still reads as that kind of vocabulary.
    /// </summary>
    private static string Filler(string marker, int i) => marker + "tok" + i.ToString(CultureInfo.InvariantCulture);

    private static JsonObject Unigram(int size)
    {
        const int extraIds = 100;
        var pieces = new List<(string Piece, double Score)> { ("<pad>", 0), ("</s>", 0), ("<unk>", 0), ("\u2581", -2) };
        for (var c = '!'; c <= '~'; c++)
        {
            pieces.Add((c.ToString(), -3));
            pieces.Add(("\u2581" + c, -3.5));
        }
        for (var i = 0; pieces.Count < size - extraIds; i++) pieces.Add((Filler("\u2581", i), -20));
        var added = new JsonArray(Added(0, "<pad>"), Added(1, "</s>"), Added(2, "<unk>"));
        for (var i = extraIds - 1; i >= 0; i--)
        {
            var token = $"<extra_id_{i.ToString(CultureInfo.InvariantCulture)}>";
            added.Add(Added(pieces.Count, token));
            pieces.Add((token, 0));
        }
        var metaspace = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "always", ["split"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "  " }, ["content"] = " " },
                    new JsonObject { ["type"] = "Strip", ["strip_left"] = true, ["strip_right"] = true }),
            },
            ["pre_tokenizer"] = metaspace,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "</s>", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["</s>"] = new JsonObject { ["id"] = "</s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("</s>") },
                },
            },
            ["decoder"] = metaspace.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "Unigram",
                ["unk_id"] = 2,
                ["vocab"] = new JsonArray([.. pieces.Select(p => (JsonNode)new JsonArray(p.Piece, p.Score))]),
                ["byte_fallback"] = false,
            },
        };
    }

    /// <summary>GPT-2's printable stand-ins for the 256 byte values.</summary>
    private static IEnumerable<string> ByteSymbols()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var next = 256;
        for (var b = 0; b < 256; b++) yield return ((char)(printable.Contains(b) ? b : next++)).ToString();
    }

    private static JsonObject ByteLevel(int size)
    {
        const int endOfText = 11;
        var vocab = new JsonObject();
        for (var i = 0; i < endOfText; i++) vocab[$">>SPECIAL{i.ToString(CultureInfo.InvariantCulture)}<<"] = i;
        vocab["<|endoftext|>"] = endOfText;
        foreach (var symbol in ByteSymbols()) vocab[symbol] = vocab.Count;
        for (var i = 0; vocab.Count < size; i++) vocab[Filler("\u0120", i)] = vocab.Count;
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(endOfText, "<|endoftext|>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel,
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(),
            },
        };
    }
}
