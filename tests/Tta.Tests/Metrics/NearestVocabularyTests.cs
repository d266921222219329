using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Figures;
using Xunit.Abstractions;
using Tta.Metrics.Nearest;

using Tta.Tests.Tokenizers;

namespace Tta.Tests.Metrics;

/// <summary>
/// nearest.parquet names its tokens for every kind of tokenizer, and the nearest grid shows them as text: each model
/// fixture runs through every stage with a fixture tokenizer fitted to its 320-row embedding matrix.
/// </summary>
public partial class NearestVocabularyTests(ITestOutputHelper log)
{
    public static TheoryData<string, string> Models => new()
    {
        { "gpt2-tiny", "bytelevel-bpe" },
        { "falcon-7b-tiny", "bytelevel-bpe" },
        { "llama-tiny", "bytelevel-bpe" },
        { "flan-t5-tiny", "t5-unigram-json" },
        { "t5-v1_0-tiny", "t5-unigram-json" },
        { "bert-tiny", "bert-wordpiece" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void NearestTokensAreTheTokenizersVocabularyAndFiguresShowThem(string fixture, string tokenizerFixture)
    {
        var ws = new TinyWorkspace();
        var model = ws.AddModelWeights(fixture);
        var rows = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!["vocab_size"]!.GetValue<int>();
        var tokenizer = FitTo(JsonNode.Parse(File.ReadAllText(Repo.Fixture($"tokenizers/{tokenizerFixture}/tokenizer.json")))!.AsObject(), rows);
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), tokenizer.ToJsonString());
        var vocabulary = TokenizerTests.JsonVocabulary(tokenizer);
        Assert.Equal(rows, vocabulary.Length);
        ws.WriteExperiment("""
            name: tiny
            models:
              - { id: m, source: local, path: m, name: m }
            texts:
              - { name: one, text: "The quick brown fox jumps over the lazy dog.\nNew line." }
            metrics:
              similarity: [cosine]
              nearest: { k: 3 }
            figures:
              kinds: [nearest]
              formats: [pdf]
            """);
        ws.RunAll();

        var (_, stored) = NearestRows.Read(Path.Combine(ws.CacheDir, "metrics", "tiny", "m", "one", "nearest.parquet"));
        Assert.NotEmpty(stored);
        foreach (var r in stored) Assert.Equal(vocabulary[r.TokenId], r.Token);

        var pdftotext = PdfText.Require(log);
        if (pdftotext is null) return;
        var pdfs = Directory.GetFiles(Path.Combine(ws.FiguresDir, "tiny", "m", "one"), "*nearest*.pdf", SearchOption.AllDirectories);
        Assert.NotEmpty(pdfs);
        foreach (var pdf in pdfs)
        {
            var words = PdfText.Words(pdftotext, pdf).Select(w => w.Text).ToList();
            Assert.DoesNotContain(words, w => IdLabel().IsMatch(w));
            // Byte-level symbols are decoded to text (Ġ a space, Ċ a newline), as the text's own token labels are.
            Assert.DoesNotContain(words, w => w.Contains('Ġ') || w.Contains('Ċ'));
        }
    }

    [GeneratedRegex(@"^#\d+$")]
    private static partial Regex IdLabel();

    /// <summary>
    /// The fixture tokenizer cut or grown to exactly <paramref name="rows"/> ids, as a checkpoint's own tokenizer is: a
    /// larger vocabulary keeps its first ids (and the BPE merges among them: merges are learnt in id order); a smaller
    /// one gets <c>&lt;extra_id_N&gt;</c> added tokens after its pieces, as T5's tokenizer has.
    /// </summary>
    internal static JsonObject FitTo(JsonObject json, int rows)
    {
        var m = json["model"]!.AsObject();
        var added = json["added_tokens"]!.AsArray();
        foreach (var a in added.Where(a => a!["id"]!.GetValue<int>() >= rows).ToList()) added.Remove(a);
        if (m["vocab"] is JsonObject vocab)
        {
            foreach (var (token, _) in vocab.Where(kv => kv.Value!.GetValue<int>() >= rows).ToList()) vocab.Remove(token);
            if (m["merges"] is JsonArray merges)
                foreach (var merge in merges.ToList())
                {
                    var (left, right) = merge is JsonArray p ? (p[0]!.GetValue<string>(), p[1]!.GetValue<string>())
                        : merge!.GetValue<string>().Split(' ') is [var a, var b] ? (a, b) : throw new InvalidDataException("bad merge");
                    if (!vocab.ContainsKey(left) || !vocab.ContainsKey(right) || !vocab.ContainsKey(left + right)) merges.Remove(merge);
                }
        }
        else
        {
            var pieces = m["vocab"]!.AsArray();
            for (var extra = rows - pieces.Count - 1; pieces.Count < rows; extra--)
            {
                var token = $"<extra_id_{extra}>";
                added.Add(new JsonObject
                {
                    ["id"] = pieces.Count,
                    ["content"] = token,
                    ["single_word"] = false,
                    ["lstrip"] = false,
                    ["rstrip"] = false,
                    ["normalized"] = false,
                    ["special"] = true,
                });
                pieces.Add(new JsonArray(token, 0.0));
            }
        }
        return json;
    }
}
