using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Metrics.LogitLens;
using Tta.Models;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Tests.Metrics;

/// <summary>
/// The logit lens against Hugging Face: each architecture's own final norm and unembedding, applied to transformers'
/// output of the last block (the final norm's input), give transformers' <c>logits</c>; the last hidden state (after
/// the final norm, as transformers records it) is only unembedded. Then the unit end to end, and BERT refused.
/// </summary>
public class LogitLensTests
{
    /// <summary>Each fixture and transformers' name for its last block's output (a tuple's first item where the block returns one).</summary>
    public static TheoryData<string, string> LastBlocks => new()
    {
        { "gpt2-tiny", "module:transformer.h.1" },
        { "llama-tiny", "module:model.layers.1" },
        { "falcon-7b-tiny", "module:transformer.h.1#0" },
        { "falcon-40b-tiny", "module:transformer.h.1#0" },
        { "t5-v1_0-tiny", "module:decoder.block.1#0" },
        { "flan-t5-tiny", "module:decoder.block.1#0" },
    };

    [Theory]
    [MemberData(nameof(LastBlocks))]
    public void LensOfTheLastBlocksOutputIsTheModelsLogits(string fixture, string lastBlock)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(fixture);
        using var expected = FixtureCheck.Expected(dir);
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        var head = Assert.IsAssignableFrom<ILanguageModelHead>(model);
        var logits = expected.Load("logits");

        var fromBlock = head.Unembed(head.FinalNorm(expected.Load(lastBlock)));
        Assert.True(MaxAbs(fromBlock, logits) <= 1e-4, $"{fixture}: lens of {lastBlock} is {MaxAbs(fromBlock, logits):g3} from the logits");

        // The last hidden state went through the final norm: the lens only unembeds it (a second norm would move it).
        var last = model.Architecture.CapturePoints(model.Config).Last(p => p.Kind == CaptureKind.HiddenState && p.Stack == model.Architecture.HeadStack);
        Assert.True(model.Architecture.IsAfterFinalNorm(last, model.Config));
        var fromLast = head.LogitLens(expected.Load(last.Name), last);
        Assert.True(MaxAbs(fromLast, logits) <= 1e-4, $"{fixture}: lens of {last.Name} is {MaxAbs(fromLast, logits):g3} from the logits");

        // Every earlier hidden state is a block's input, before the final norm.
        var first = model.Architecture.CapturePoints(model.Config).First(p => p.Kind == CaptureKind.HiddenState && p.Stack == model.Architecture.HeadStack);
        Assert.False(model.Architecture.IsAfterFinalNorm(first, model.Config));
        var state = expected.Load(first.Name);
        Assert.True(MaxAbs(head.LogitLens(state, first), head.Unembed(head.FinalNorm(state))) == 0);
    }

    [Fact]
    public void EncoderOnlyModelsHaveNoHead()
    {
        using var model = ModelFactory.Load(FixtureCheck.ModelDir("bert-tiny"), ScalarType.Float32);
        Assert.Null(model.Architecture.HeadStack);
        Assert.False(model is ILanguageModelHead);
    }

    private static double MaxAbs(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    /// <summary>
    /// Through every stage: the last layer's top token is the argmax of the logits Extract stored beside the hidden
    /// states, its probabilities are their softmax, and the next token's probability and rank are read off the same
    /// softmax; earlier layers hold k tokens each, most probable first; the grid figure is drawn.
    /// </summary>
    [Theory]
    [Trait("Lane", "Full")]
    [InlineData("gpt2-tiny")]
    [InlineData("flan-t5-tiny")]
    [InlineData("t5-v1_0-tiny")]
    public async Task UnitMatchesTheStoredLogits(string fixture)
    {
        var ws = new TinyWorkspace();
        if (fixture.Contains("t5", StringComparison.Ordinal)) ws.AddFlanT5Tiny("m");
        else
        {
            var model = ws.AddModelWeights(fixture);
            var json = JsonNode.Parse(File.ReadAllText(Repo.Fixture("tokenizers/bytelevel-bpe/tokenizer.json")))!.AsObject();
            File.WriteAllText(Path.Combine(model, "tokenizer.json"), NearestVocabularyTests.FitTo(json, 320).ToJsonString());
        }
        if (fixture == "t5-v1_0-tiny")
            foreach (var f in new[] { "config.json", "model.safetensors" })
                File.Copy(Path.Combine(FixtureCheck.ModelDir(fixture), f), Path.Combine(ws.Root, "experiments", "m", f), overwrite: true);
        ws.WriteExperiment("""
            name: tiny
            models:
              - { id: m, source: local, path: m, name: m }
            texts:
              - { name: one, text: "the cat sat on the mat." }
            extract:
              points: ["*hidden_states.*", "logits"]
            metrics:
              logit_lens: { k: 3 }
            figures:
              kinds: [logit_lens]
              formats: [png]
            """);
        ws.RunAll();

        var file = Path.Combine(ws.CacheDir, "metrics", "tiny", "m", "one", "logit_lens.parquet");
        var (metadata, rows) = LogitLensStore.Read(file);
        await using (var reader = await Parquet.ParquetReader.CreateAsync(File.OpenRead(file)))
            Assert.All(reader.Metadata!.RowGroups.SelectMany(g => g.Columns), c => Assert.Equal(Parquet.Meta.CompressionCodec.SNAPPY, c.MetaData!.Codec));
        Assert.Equal("logit_lens/1", metadata[StoreKeys.Format]);
        Assert.Equal("3", metadata[StoreKeys.K]);
        var activations = Path.Combine(ws.CacheDir, "extract", "tiny", "m", "one", "activations.parquet");
        var (_, blocks) = await VectorStoreReader.ReadAsync(activations);
        var stored = blocks.Single(b => b.Key.Point == "logits");
        var ids = JsonSerializer.Deserialize<long[]>(metadata[StoreKeys.TokenIds])!;
        var isT5 = fixture.Contains("t5", StringComparison.Ordinal);
        var lastLayer = rows.Max(r => r.Layer);
        Assert.Equal(stored.Positions * 3 * (lastLayer + 1), rows.Count);
        Assert.All(rows, r => Assert.Equal(isT5 ? "decoder" : "decoder-only", r.Stack));

        using var scope = NewDisposeScope();
        var probs = tensor(stored.Values, [stored.Positions, stored.Dim]).softmax(-1);
        for (var p = 0; p < stored.Positions; p++)
        {
            var at = rows.Where(r => r.Layer == lastLayer && r.Position == p).OrderBy(r => r.Rank).ToList();
            Assert.Equal(3, at.Count);
            Assert.Equal(probs[p].argmax().item<long>(), at[0].TokenId);
            foreach (var r in at) Assert.Equal(probs[p][r.TokenId].item<float>(), r.Probability, 1e-5f);
            Assert.True(at[0].Probability >= at[1].Probability && at[1].Probability >= at[2].Probability);
            long? next = isT5 ? ids[p] : p + 1 < ids.Length ? ids[p + 1] : null;
            Assert.All(at, r => Assert.Equal(next, r.NextTokenId));
            if (next is not { } n)
            {
                Assert.All(at, r => Assert.Null(r.NextRank));
                continue;
            }
            var pNext = probs[p][n].item<float>();
            Assert.Equal(pNext, at[0].NextProbability!.Value, 1e-5f);
            Assert.Equal(probs[p].gt(probs[p][n]).sum().item<long>(), (long)at[0].NextRank!.Value);
            Assert.NotNull(at[0].NextToken);
        }
        Assert.NotEmpty(Directory.GetFiles(ws.FiguresDir, "*logit_lens*.png", SearchOption.AllDirectories));
    }

    /// <summary>An encoder-only model has no head to read its states through: refused before any stage, naming the model and the fix.</summary>
    [Fact]
    [Trait("Lane", "Full")]
    public void EncoderOnlyModelIsRefused()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml + "\nmetrics:\n  logit_lens: true\n");
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code != 0, output);
        Assert.Contains("model 'tiny' (bert-tiny, bert) has no language-model head", output);
        Assert.Contains("drop logit_lens", output);
        Assert.False(Directory.Exists(Path.Combine(ws.CacheDir, "extract")));
    }

    [Fact]
    public void KOutOfRangeIsAnErrorAtItsLine()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml + "\nmetrics:\n  logit_lens: { k: 101 }\n");
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code != 0, output);
        Assert.Contains("logit_lens k 101 is out of range", output, StringComparison.Ordinal);
        Assert.Contains("tiny.yaml:", output);
    }
}
