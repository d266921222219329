using System.Text.Json.Nodes;
using Tta.Bench;
using Tta.Models;
using Tta.Tokenizers;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// Synthetic checkpoints have the published models' parameter counts, files and shards, load into our architectures
/// with every tensor used, tokenize and run; random weights are deterministic; the synth verb writes one.
/// </summary>
public class SyntheticCheckpointTests
{
    /// <summary>Parameter counts as published for the real checkpoints (Hugging Face model cards / safetensors headers).</summary>
    [Theory]
    [InlineData("t5-base", 222_903_552L)]
    [InlineData("flan-t5-base", 247_577_856L)]
    [InlineData("flan-t5-xl", 2_849_757_184L)]
    [InlineData("falcon-7b", 6_921_720_704L)]
    [InlineData("llama-2-7b", 6_738_415_616L)]
    [InlineData("tinyllama-1.1b", 1_100_048_384L)]
    public void LayoutsHaveThePublishedParameterCounts(string shape, long parameters)
    {
        var config = SyntheticShape.Named(shape).Config;
        var facts = ModelFactory.Facts(config, shape);
        Assert.Equal(parameters, facts.Layout.ParameterCount);
        var names = facts.Layout.Expand().Select(t => t.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(parameters, facts.Layout.Expand().Sum(t => (long)t.Elements));
    }

    /// <summary>
    /// Each architecture's layout against checkpoints transformers wrote (the reference fixtures): every tensor it
    /// lists is there under that name and shape, and it lists every tensor the model loads (nothing unused).
    /// </summary>
    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("t5-v1_0-tiny")]
    [InlineData("flan-t5-tiny")]
    [InlineData("falcon-7b-tiny")]
    [InlineData("falcon-40b-tiny")]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny")]
    public void LayoutsMatchCheckpointsWrittenByTransformers(string fixture)
    {
        var dir = FixtureCheck.ModelDir(fixture);
        using var checkpoint = new Checkpoint(dir);
        var layout = ModelFactory.Facts(checkpoint.Config, dir).Layout.Expand().ToList();
        foreach (var t in layout)
        {
            Assert.True(checkpoint.Contains(t.Name), $"{fixture}: {t.Name} is not in the checkpoint");
            Assert.Equal(t.Shape, checkpoint.Entry(t.Name).Shape);
        }
        using var net = ModelFactory.For(checkpoint.Config, dir).Load(checkpoint, ScalarType.Float32, ScalarType.Float32, null);
        var listed = layout.Select(t => t.Name).ToHashSet();
        Assert.All(checkpoint.TensorNames.Where(n => !checkpoint.UnusedTensorNames.Contains(n)), n => Assert.Contains(n, listed));
    }

    /// <summary>Full size, as sparse files (headers real, data holes): the shards and index of the Hub's checkpoints.</summary>
    [Theory]
    [InlineData("flan-t5-xl", 2, "F32", 11_399_028_736L)]
    [InlineData("falcon-7b", 2, "BF16", 13_843_441_408L)]
    [InlineData("llama-2-7b", 2, "F16", 13_476_831_232L)]
    [InlineData("flan-t5-base", 1, "F32", 990_311_424L)]
    public void FullSizeCheckpointsAreShardedAsOnTheHub(string shape, int shards, string dtype, long bytes)
    {
        var dir = Repo.TempDir();
        var result = SyntheticCheckpoint.Write(dir, shape, randomWeights: false);
        Assert.Equal(bytes, result.WeightBytes);
        var weightFiles = Directory.GetFiles(dir, "*.safetensors").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(shards, weightFiles.Count);
        if (shards > 1)
        {
            Assert.Equal($"model-00001-of-0000{shards}.safetensors", Path.GetFileName(weightFiles[0]));
            var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model.safetensors.index.json")))!;
            Assert.Equal(bytes, index["metadata"]!["total_size"]!.GetValue<long>());
            foreach (var f in weightFiles) Assert.InRange(new FileInfo(f).Length, 1, 10_000_100_000); // Hugging Face's 10 GB shards
        }
        using var checkpoint = new Checkpoint(dir);
        Assert.Equal(result.Parameters, checkpoint.TensorNames.Sum(n => (double)checkpoint.Entry(n).ElementCount));
        Assert.All(checkpoint.TensorNames, n => Assert.Equal(dtype, SafetensorsFile.ToSafetensorsDType(checkpoint.Entry(n).DType)));
        Assert.Equal(JsonNode.Parse(SyntheticShape.Named(shape).ConfigJson)!["vocab_size"]!.GetValue<int>(), checkpoint.Config.Int("vocab_size"));
    }

    /// <summary>Reduced depth (real widths): loads with every tensor used, tokenizes and runs a forward pass.</summary>
    [Theory]
    [Trait("Lane", "Full")]
    [InlineData("t5-base")]
    [InlineData("flan-t5-xl")]
    [InlineData("falcon-7b")]
    [InlineData("llama-2-7b")]
    [InlineData("tinyllama-1.1b")]
    public void ReducedDepthCheckpointsLoadAndRun(string shape)
    {
        var dir = Repo.TempDir();
        try
        {
            var result = SyntheticCheckpoint.Write(dir, shape, layers: 1, shards: 2, randomWeights: false);
            Assert.Contains("model.safetensors.index.json", result.Files);
            using var checkpoint = new Checkpoint(dir);
            var architecture = ModelFactory.For(checkpoint.Config, dir);
            using var net = architecture.Load(checkpoint, result.DType, result.DType, null);
            Assert.Empty(checkpoint.UnusedTensorNames);
            var tokens = TokenizerLoader.Load(dir).Encode("Bo sat on the mat.");
            Assert.InRange(tokens.Ids.Length, 10, 24); // about one token per character
            Assert.All(tokens.Ids, id => Assert.InRange(id, 0, checkpoint.Config.Int("vocab_size") - 1));
            using var capture = ActivationCapture.Matching(["*hidden_states.*"]);
            using (no_grad()) net.Run(ModelInputs.ForText(net, tokens.Ids), capture);
            Assert.NotEmpty(capture.Items);
            Assert.All(capture.Items, kv => Assert.False(kv.Value.isnan().any().item<bool>(), kv.Key));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RandomWeightsAreDeterministicAndNormsAreOnes()
    {
        var a = Repo.TempDir();
        var b = Repo.TempDir();
        try
        {
            SyntheticCheckpoint.Write(a, "tinyllama-1.1b", ScalarType.BFloat16, layers: 1, overrides: new Dictionary<string, JsonNode?> { ["vocab_size"] = 512 });
            SyntheticCheckpoint.Write(b, "tinyllama-1.1b", ScalarType.BFloat16, layers: 1, overrides: new Dictionary<string, JsonNode?> { ["vocab_size"] = 512 });
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
            using var checkpoint = new Checkpoint(a);
            using var norm = checkpoint.Load("model.layers.0.input_layernorm.weight", ScalarType.Float32);
            Assert.True(norm.eq(ones_like(norm)).all().item<bool>());
            using var q = checkpoint.Load("model.layers.0.self_attn.q_proj.weight", ScalarType.Float32);
            Assert.InRange(q.std().item<float>(), 0.018f, 0.022f);
            Assert.InRange(q.mean().item<float>(), -0.001f, 0.001f);
        }
        finally
        {
            Directory.Delete(a, recursive: true);
            Directory.Delete(b, recursive: true);
        }
    }

    [Fact]
    public void TheSynthVerbWritesACheckpointAndPrintsItsEstimate()
    {
        var root = Repo.TempDir();
        var log = new StringWriter();
        Assert.Equal(0, TtaBench.Run(["synth", "--shape=falcon-7b", "--layers=2", "--weights=empty", "--out=falcon", $"--root={root}"], log, log));
        Assert.Contains("falcon-7b: 709,618,304 parameters in 2 blocks", log.ToString());
        Assert.Contains("running it on 512 tokens needs about", log.ToString());
        Assert.True(File.Exists(Path.Combine(root, "falcon", "model.safetensors")));

        var error = new StringWriter();
        Assert.Equal(1, TtaBench.Run(["synth", "--shape=falcon-9b", "--out=x", $"--root={root}"], error, error));
        Assert.Contains("unknown shape 'falcon-9b'; shapes: t5-base, flan-t5-base, flan-t5-xl, falcon-7b", error.ToString());
    }

    /// <summary>
    /// A byte-level vocabulary's fillers are byte-level symbols too: a nearest grid that shows one alongside real tokens
    /// is still read as byte-level (Ġ shown as a space), and the fillers never match text (no merges build them).
    /// </summary>
    [Fact]
    public void ByteLevelFillersKeepTheVocabularyByteLevel()
    {
        var json = SyntheticTokenizer.Create(SyntheticTokenizerKind.ByteLevelBpe, 300);
        var vocab = json["model"]!["vocab"]!.AsObject().Select(p => p.Key).ToList();
        var fillers = vocab.Where(v => v.EndsWith("tok0", StringComparison.Ordinal) || v.Contains("tok1", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(fillers);
        Assert.All(fillers, f => Assert.StartsWith("\u0120tok", f));
        Assert.True(Tta.Figures.TokenLabels.IsByteLevel(vocab), "the whole byte-level vocabulary reads as byte-level");
        // A grid row: a filler among real byte-level tokens decodes Ġ to a visible space everywhere.
        var labels = Tta.Figures.TokenLabels.Labels(["\u0120the", fillers[0], "\u0120fox"], maxChars: 0);
        Assert.Equal(["\u2423the", "\u2423" + fillers[0][1..], "\u2423fox"], labels);
        Assert.Empty(json["model"]!["merges"]!.AsArray());
        // SentencePiece vocabularies keep ▁ fillers.
        var unigram = SyntheticTokenizer.Create(SyntheticTokenizerKind.Unigram, 320)["model"]!["vocab"]!.AsArray();
        Assert.Contains(unigram, p => p![0]!.GetValue<string>() == "\u2581tok0");
    }
}
