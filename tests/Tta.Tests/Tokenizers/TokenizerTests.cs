using System.Text.Json.Nodes;
using Tta.Tokenizers;

namespace Tta.Tests.Tokenizers;

/// <summary>
/// Every fixture tokenizer (ids from Hugging Face tokenizers 0.23.2 / sentencepiece 0.2.2) against our implementations:
/// ids exactly, token strings where the fixture has them.
/// </summary>
public class TokenizerTests
{
    private static string Dir(string name) => Repo.Fixture("tokenizers/" + name);

    private static List<(string Text, long[] Ids, string[]? Tokens)> Cases(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(name), "cases.json")))!["cases"]!.AsArray().Select(c => (
            c!["text"]!.GetValue<string>(),
            c["ids"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(),
            c["tokens"]?.AsArray().Select(x => x!.GetValue<string>()).ToArray())).ToList();

    private static void AssertMatches(ITextTokenizer tokenizer, string name)
    {
        var cases = Cases(name);
        Assert.True(cases.Count >= 8, $"{name}: only {cases.Count} cases");
        foreach (var (text, ids, tokens) in cases)
        {
            var (gotIds, gotTokens) = tokenizer.Encode(text);
            Assert.True(ids.SequenceEqual(gotIds),
                $"{name} '{text}': ids [{string.Join(", ", gotIds)}], expected [{string.Join(", ", ids)}]");
            Assert.Equal(gotIds.Length, gotTokens.Length);
            if (tokens is not null) Assert.Equal(tokens, gotTokens);
        }
    }

    [Fact]
    public void ByteLevelBpeTokenizerJson() =>
        AssertMatches(HuggingFaceTokenizer.Load(Path.Combine(Dir("bytelevel-bpe"), "tokenizer.json")), "bytelevel-bpe");

    [Fact]
    public void UnigramMetaspaceTokenizerJson() =>
        AssertMatches(HuggingFaceTokenizer.Load(Path.Combine(Dir("t5-unigram-json"), "tokenizer.json")), "t5-unigram-json");

    [Fact]
    public void WordPieceTokenizerJson() =>
        AssertMatches(HuggingFaceTokenizer.Load(Path.Combine(Dir("bert-wordpiece"), "tokenizer.json")), "bert-wordpiece");

    [Fact]
    public void SentencePieceModel()
    {
        var tokenizer = SentencePieceTokenizer.Load(Path.Combine(Dir("t5-unigram"), "spiece.model"));
        Assert.Equal("nmt_nfkc", tokenizer.Model.NormalizerName);
        Assert.Equal((0, 1, 2), (tokenizer.Model.PadId, tokenizer.Model.EosId, tokenizer.Model.UnkId));
        AssertMatches(tokenizer, "t5-unigram");
    }

    [Fact]
    public void SentencePieceVocabMatchesItsVocabFile()
    {
        // spiece.vocab is sentencepiece's own dump (piece TAB score) of the same model: an independent check of the
        // protobuf reader.
        var model = SentencePieceModelProto.Parse(File.ReadAllBytes(Path.Combine(Dir("t5-unigram"), "spiece.model")));
        var lines = File.ReadAllLines(Path.Combine(Dir("t5-unigram"), "spiece.vocab")).Where(l => l.Length > 0).ToList();
        Assert.Equal(lines.Count, model.Pieces.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            var parts = lines[i].Split('\t');
            Assert.Equal(parts[0], model.Pieces[i].Text);
            var expected = double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture); // printed to 6 digits
            Assert.True(Math.Abs(expected - model.Pieces[i].Score) < 1e-4, $"{parts[0]}: score {model.Pieces[i].Score}, vocab file {expected}");
        }
    }

    [Fact]
    public void NmtNfkcCharsMapAppliesCompatibilityMappings()
    {
        // The nmt_nfkc charsmap in spiece.model is what gives NFKC here (string.Normalize is a no-op under
        // InvariantGlobalization): full-width letters, ligatures and the no-break space fold to their plain forms.
        var tokenizer = SentencePieceTokenizer.Load(Path.Combine(Dir("t5-unigram"), "spiece.model"));
        Assert.Equal("\u2581Hello\u2581world", tokenizer.Normalize("\uFF28\uFF45\uFF4C\uFF4C\uFF4F\u00A0world"));
        Assert.Equal("\u2581file", tokenizer.Normalize("\uFB01le"));
        Assert.Equal("\u2581a\u2581b", tokenizer.Normalize("  a \t\n b  "));
        Assert.Equal("", tokenizer.Normalize(" \t "));
        Assert.Equal(tokenizer.Encode("Hello world").Ids, tokenizer.Encode("\uFF28ello\u3000world").Ids);
    }

    [Fact]
    public void Gpt2PatternSplitsLikeTheRegex()
    {
        // Our code-point matcher against .NET's regex engine running GPT-2's pattern (equal on BMP text) ...
        var regex = new System.Text.RegularExpressions.Regex(
            @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");
        var texts = Cases("bytelevel-bpe").Select(c => c.Text)
            .Concat(["it's  they're\u00A0 x'll 'sa '", "a  \t\n\n b\r\n", "١٢٣ ½ Ⅻ", "..., !!  ?? 'm"]);
        foreach (var text in texts.Where(t => !t.Any(char.IsSurrogate)))
            Assert.Equal(regex.Matches(text).Select(m => m.Value).ToList(), HuggingFaceTokenizer.Gpt2Split(text));
        // ... and on astral characters, where the regex would see surrogates: letters stay letters.
        Assert.Equal(["x", " 𝐀𝐁", "1", " 🙂🙂", " "], HuggingFaceTokenizer.Gpt2Split("x 𝐀𝐁1 🙂🙂 "));
        Assert.Equal(["Hello", " world", "'s", " ", " x", "   ", "\t", "123", "!?"],
            HuggingFaceTokenizer.Gpt2Split("Hello world's  x   \t123!?"));
    }

    [Fact]
    public void PrecompiledNormalizerInTokenizerJson()
    {
        // Real T5 tokenizer.json files carry spiece.model's charsmap as a Precompiled normalizer: put the fixture's
        // nmt_nfkc map into the Unigram tokenizer.json. Text that NFKC leaves alone keeps the fixture's ids; full-width
        // letters and the ideographic space fold to ASCII.
        var model = SentencePieceModelProto.Parse(File.ReadAllBytes(Path.Combine(Dir("t5-unigram"), "spiece.model")));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir("t5-unigram-json"), "tokenizer.json")))!.AsObject();
        json["normalizer"] = new JsonObject
        {
            ["type"] = "Precompiled",
            ["precompiled_charsmap"] = Convert.ToBase64String(model.PrecompiledCharsMap),
        };
        var path = Path.Combine(Repo.TempDir(), "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        var tokenizer = HuggingFaceTokenizer.Load(path);
        var plain = Cases("t5-unigram-json").Where(c => !c.Text.Contains("  ") && !c.Text.Any(ch => ch is '\t' or '\n')).ToList();
        Assert.True(plain.Count >= 5);
        foreach (var (text, ids, _) in plain) Assert.Equal(ids, tokenizer.Encode(text).Ids);
        Assert.Equal(tokenizer.Encode("Hello world").Ids, tokenizer.Encode("\uFF28\uFF45llo\u3000world").Ids);
        Assert.Equal(tokenizer.Encode("file").Ids, tokenizer.Encode("\uFB01le").Ids);
    }

    [Fact]
    public void AddedTokensAreSplitOutOfTheText()
    {
        // Special tokens written in the text keep their ids; the text around them is tokenised on its own.
        var bpe = HuggingFaceTokenizer.Load(Path.Combine(Dir("bytelevel-bpe"), "tokenizer.json"));
        Assert.Equal([.. bpe.Encode("the lazy").Ids, 0, .. bpe.Encode(" dog").Ids], bpe.Encode("the lazy<|endoftext|> dog").Ids);
        Assert.Equal("<|endoftext|>", bpe.Encode("a<|endoftext|>").Tokens[^1]);
        var t5 = HuggingFaceTokenizer.Load(Path.Combine(Dir("t5-unigram-json"), "tokenizer.json"));
        var (ids, tokens) = t5.Encode("the lazy</s>dog");
        Assert.Equal([.. t5.Encode("the lazy").Ids[..^1], 1, .. t5.Encode("dog").Ids], ids);
        Assert.Equal(["</s>", "</s>"], tokens.Where(t => t == "</s>"));
    }

    [Theory]
    [InlineData("bytelevel-bpe", typeof(HuggingFaceTokenizer))]
    [InlineData("t5-unigram-json", typeof(HuggingFaceTokenizer))]
    [InlineData("t5-unigram", typeof(SentencePieceTokenizer))]
    [InlineData("bert-wordpiece", typeof(BertWordPieceTokenizer))]
    public void LoaderPicksTheDirectoryLayout(string name, Type expected)
    {
        var tokenizer = TokenizerLoader.Load(Dir(name));
        Assert.IsType(expected, tokenizer);
        AssertMatches(tokenizer, name);
    }

    [Fact]
    public void LoaderPrefersTokenizerJsonThenSpieceThenVocab()
    {
        var dir = Repo.TempDir();
        Assert.Throws<NotSupportedException>(() => TokenizerLoader.Load(dir));
        File.Copy(Path.Combine(Dir("bert-wordpiece"), "vocab.txt"), Path.Combine(dir, "vocab.txt"));
        Assert.IsType<BertWordPieceTokenizer>(TokenizerLoader.Load(dir));
        File.Copy(Path.Combine(Dir("t5-unigram"), "spiece.model"), Path.Combine(dir, "spiece.model"));
        Assert.IsType<SentencePieceTokenizer>(TokenizerLoader.Load(dir));
        File.Copy(Path.Combine(Dir("t5-unigram-json"), "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
        var json = TokenizerLoader.Load(dir);
        Assert.IsType<HuggingFaceTokenizer>(json);
        AssertMatches(json, "t5-unigram-json");
    }

    // ---------------------------------------------------------------- vocabulary (id → token) of every tokenizer

    /// <summary>tokenizer.json's tokens by id: the model's vocabulary (object or Unigram list) with added_tokens over it.</summary>
    internal static string?[] JsonVocabulary(JsonObject json)
    {
        var byId = new SortedDictionary<int, string>();
        switch (json["model"]!["vocab"])
        {
            case JsonObject map:
                foreach (var (token, id) in map) byId[id!.GetValue<int>()] = token;
                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++) byId[i] = list[i]![0]!.GetValue<string>();
                break;
        }
        foreach (var a in json["added_tokens"]!.AsArray()) byId[a!["id"]!.GetValue<int>()] = a["content"]!.GetValue<string>();
        var result = new string?[byId.Keys.Max() + 1];
        foreach (var (id, token) in byId) result[id] = token;
        return result;
    }

    [Theory]
    [InlineData("bytelevel-bpe")]
    [InlineData("t5-unigram-json")]
    [InlineData("bert-wordpiece")]
    public void TokenizerJsonVocabularyIsTheFilesIdToToken(string name)
    {
        var path = Path.Combine(Dir(name), "tokenizer.json");
        var tokenizer = HuggingFaceTokenizer.Load(path);
        Assert.Equal(JsonVocabulary(JsonNode.Parse(File.ReadAllText(path))!.AsObject()), tokenizer.Vocabulary);
        // The strings Encode labels tokens with are the vocabulary's (except the unknown token, labelled with its text).
        foreach (var (text, _, _) in Cases(name))
        {
            var (ids, tokens) = tokenizer.Encode(text);
            for (var i = 0; i < ids.Length; i++)
                if (tokenizer.Vocabulary[(int)ids[i]] is not ("<unk>" or "[UNK]")) Assert.Equal(tokenizer.Vocabulary[(int)ids[i]], tokens[i]);
        }
    }

    [Fact]
    public void AddedTokensBeyondTheModelVocabularyAreInTheVocabulary()
    {
        var dir = Repo.TempDir();
        foreach (var name in new[] { "bytelevel-bpe", "bert-wordpiece" })
        {
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(name), "tokenizer.json")))!.AsObject();
            var size = JsonVocabulary(json).Length;
            json["added_tokens"]!.AsArray().Add(new JsonObject
            {
                ["id"] = size + 2,
                ["content"] = "<|extra|>",
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            });
            var path = Path.Combine(dir, name + ".json");
            File.WriteAllText(path, json.ToJsonString());
            var vocabulary = HuggingFaceTokenizer.Load(path).Vocabulary;
            Assert.Equal(size + 3, vocabulary.Count);
            Assert.Equal("<|extra|>", vocabulary[size + 2]);
            Assert.Null(vocabulary[size]); // an id no token has
        }
    }

    [Fact]
    public void SentencePieceAndVocabTxtVocabulariesAreTheirFiles()
    {
        var spm = SentencePieceTokenizer.Load(Path.Combine(Dir("t5-unigram"), "spiece.model"));
        var pieces = File.ReadAllLines(Path.Combine(Dir("t5-unigram"), "spiece.vocab")).Where(l => l.Length > 0)
            .Select(l => l.Split('\t')[0]).ToList();
        Assert.Equal(pieces, spm.Vocabulary);
        var wordPiece = BertWordPieceTokenizer.Load(Dir("bert-wordpiece"));
        Assert.Equal(File.ReadAllLines(Path.Combine(Dir("bert-wordpiece"), "vocab.txt")).Where(l => l.Length > 0), wordPiece.Vocabulary);
    }

    // ---------------------------------------------------------------- BPE merge order

    /// <summary>
    /// Merge priority decided by rank, equal ranks (the same pair twice in a word) by position, leftmost first, and a
    /// pair listed twice by its last rank. The expected ids were computed once with Hugging Face tokenizers
    /// (@anush008/tokenizers 0.6.0, the node build tests/tokenizer-oracle uses) on this vocabulary and these merges as
    /// a tokenizer.json (BPE model, no normalizer or pre-tokenizer), and are written here so the test needs no node.
    /// </summary>
    [Theory]
    [InlineData("abc", new[] { 0, 7 })]            // b c (rank 0) before a b (rank 1): a|bc, not ab|c
    [InlineData("aaa", new[] { 8 })]               // a a twice at one rank: the left pair first → aa|a → aaa
    [InlineData("aaaa", new[] { 5, 5 })]
    [InlineData("aaaaa", new[] { 5, 8 })]          // leftmost first → aa|aa|a → aa|aaa (rightmost first: a|aa|aa)
    [InlineData("aaaaaaa", new[] { 5, 5, 8 })]
    [InlineData("aab", new[] { 0, 6 })]            // a b (rank 1) before a a (rank 2)
    [InlineData("cde", new[] { 2, 10 })]           // c d is listed at ranks 3 and 6: the last (6) counts, so d e (5) wins
    [InlineData("bcde", new[] { 7, 10 })]
    [InlineData("abcaaab", new[] { 0, 7, 5, 6 })]
    public void BpeMergesFollowRankThenLeftmost(string word, int[] expected)
    {
        string[] tokens = ["a", "b", "c", "d", "e", "aa", "ab", "bc", "aaa", "cd", "de"];
        string[] merges = ["b c", "a b", "a a", "c d", "aa a", "d e", "c d"];
        var vocab = tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        var bpe = new BpeModel(vocab, merges.Select(m => m.Split(' ')).Select(p => (p[0], p[1])));
        Assert.Equal(expected, bpe.Tokenize(word));
        // The same through tokenizer.json, as the pipeline loads it.
        var json = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["vocab"] = new JsonObject(vocab.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode?)m)]),
            },
        };
        var path = Path.Combine(Repo.TempDir(), "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal(expected.Select(i => (long)i), HuggingFaceTokenizer.Load(path).Encode(word).Ids);
    }
}
