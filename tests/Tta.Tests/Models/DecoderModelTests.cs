using System.Text.Json.Nodes;
using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>Falcon, GPT-2 and Llama against the reference fixtures and against themselves (padding, causality).</summary>
public class DecoderModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Fixtures => new() { "falcon-7b-tiny", "falcon-40b-tiny", "gpt2-tiny", "llama-tiny" };

    // transformers mutates Falcon's MLP output in place (mlp_output += attention_output) after the fixture hook kept a
    // reference to it, so the fixture's mlp and mlp.dense_4h_to_h hold mlp + attention (checked separately below).
    private static bool NotInPlaceMutated(string fixtureName) =>
        !fixtureName.EndsWith(".mlp", StringComparison.Ordinal) && !fixtureName.EndsWith(".mlp.dense_4h_to_h", StringComparison.Ordinal);

    private static void AsReference(ITransformerModel m)
    {
        if (m is Falcon f) f.EmulateReferenceBoolMaskBug = true;
    }

    private static bool IsFalcon(string name) => name.StartsWith("falcon", StringComparison.Ordinal);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void MatchesReferenceFixture(string name)
    {
        var worst = (Name: "", Error: 0.0);
        var count = FixtureCheck.CompareAll(name, 1e-4,
            include: IsFalcon(name) ? NotInPlaceMutated : null,
            configure: AsReference, requireAll: true,
            onCompared: (n, e) => { if (e >= worst.Error) worst = (n, e); });
        output.WriteLine($"{name}: {count} tensors within 1e-4, worst {worst.Name} {worst.Error:g3}");
        Assert.True(count >= 37, $"{name}: only {count} tensors compared");
    }

    [Theory]
    [InlineData("falcon-7b-tiny")]
    [InlineData("falcon-40b-tiny")]
    public void FalconFixtureMlpHoldsMlpPlusAttention(string name)
    {
        using var scope = NewDisposeScope();
        using var expected = FixtureCheck.Expected(FixtureCheck.ModelDir(name));
        using var model = ModelFactory.Load(FixtureCheck.ModelDir(name), ScalarType.Float32);
        AsReference(model);
        using var capture = ActivationCapture.All();
        var inputs = FixtureCheck.RunCase(model, FixtureCheck.ModelDir(name), capture);
        var real = inputs.AttentionMask.ne(0).unsqueeze(-1);
        for (var i = 0; i < 2; i++)
        {
            var sum = capture[$"transformer.h.{i}.mlp"] + capture[$"transformer.h.{i}.self_attention#0"];
            foreach (var fixtureName in new[] { $"module:transformer.h.{i}.mlp", $"module:transformer.h.{i}.mlp.dense_4h_to_h" })
            {
                var err = where(real, (expected.Load(fixtureName) - sum).abs(), 0.0f).max().item<float>();
                Assert.True(err <= 1e-4, $"{name} {fixtureName}: {err:g3} from our mlp + attention");
            }
            // and our MLP output itself is what dense_4h_to_h produced
            Assert.True(capture[$"transformer.h.{i}.mlp"].eq(capture[$"transformer.h.{i}.mlp.dense_4h_to_h"]).all().item<bool>());
        }
    }

    /// <summary>
    /// Without the reference's boolean-mask defect Falcon masks like every other decoder: the first layer's scores
    /// equal the fixture's minus the +1 it added where attending is allowed, and are float32's lowest elsewhere.
    /// </summary>
    [Theory]
    [InlineData("falcon-7b-tiny")]
    [InlineData("falcon-40b-tiny")]
    public void FalconMasksCausallyByDefault(string name)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(name);
        using var expected = FixtureCheck.Expected(dir);
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        Assert.False(((Falcon)model).EmulateReferenceBoolMaskBug);
        using var capture = ActivationCapture.All();
        var inputs = FixtureCheck.RunCase(model, dir, capture);

        foreach (var pre in new[] { "transformer.word_embeddings", "transformer.h.0.self_attention.query_key_value" })
            Assert.True((capture[pre] - expected.Load("module:" + pre)).abs().max().item<float>() <= 1e-5, pre);

        var allowed = DecoderOps.AllowedPairs(inputs.AttentionMask); // [b, 1, q, k]
        var realQuery = inputs.AttentionMask.ne(0).unsqueeze(1).unsqueeze(-1); // [b, 1, q, 1]
        var scores = capture["transformer.h.0.self_attention.scores"];
        var probs = capture["transformer.h.0.self_attention.probs"];
        var reference = expected.Load("module:softmax_call.0.scores");
        var check = allowed.logical_and(realQuery).expand_as(scores);
        var err = where(check, (scores - (reference - 1)).abs(), 0.0f).max().item<float>();
        Assert.True(err <= 1e-5, $"{name}: allowed scores differ from the reference's by {err:g3} after removing its +1");
        Assert.True(scores.masked_select(allowed.logical_not().expand_as(scores)).eq(finfo(ScalarType.Float32).min).all().item<bool>());
        Assert.True(probs.masked_select(allowed.logical_not().expand_as(probs)).eq(0).all().item<bool>());
        Assert.True((probs.sum(-1) - 1).abs().max().item<float>() < 1e-5);
        // and the defect is real: the reference attends to future tokens
        Assert.True(expected.Load("module:softmax_call.0.probs").masked_select(allowed.logical_not().expand_as(probs)).gt(0.01).any().item<bool>());
    }

    /// <summary>
    /// A padded batch gives every real token exactly what running its sequence alone gives, with left or right
    /// padding: checks the causal + padding masks and the position ids (every captured tensor is compared).
    /// </summary>
    [Theory]
    [InlineData("falcon-7b-tiny", false)]
    [InlineData("falcon-7b-tiny", true)]
    [InlineData("falcon-40b-tiny", false)]
    [InlineData("falcon-40b-tiny", true)]
    [InlineData("gpt2-tiny", false)]
    [InlineData("gpt2-tiny", true)]
    [InlineData("llama-tiny", false)]
    [InlineData("llama-tiny", true)]
    public void PaddedBatchEqualsSequencesAlone(string name, bool leftPadding)
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(FixtureCheck.ModelDir(name), ScalarType.Float32);
        long[][] sequences = [[5, 17, 99, 240, 3, 63, 128, 11], [7, 8, 300, 42, 19]];
        var width = sequences.Max(s => s.Length);
        var ids = new long[sequences.Length * width];
        var mask = new long[sequences.Length * width];
        for (var r = 0; r < sequences.Length; r++)
            for (var j = 0; j < sequences[r].Length; j++)
            {
                var at = r * width + (leftPadding ? width - sequences[r].Length : 0) + j;
                ids[at] = sequences[r][j];
                mask[at] = 1;
            }
        using var batch = Run(model, ids, mask, sequences.Length, width);
        var compared = 0;
        for (var r = 0; r < sequences.Length; r++)
        {
            var n = sequences[r].Length;
            var offset = leftPadding ? width - n : 0;
            using var alone = Run(model, sequences[r], [.. Enumerable.Repeat(1L, n)], 1, n);
            foreach (var (key, single) in alone.Items)
            {
                var padded = batch[key];
                var row = padded.shape[0] == 1 ? 0 : r;
                Tensor part = single.dim() switch
                {
                    3 => padded[row].narrow(0, offset, n).unsqueeze(0),
                    4 => padded[row].narrow(1, offset, n).narrow(2, offset, n).unsqueeze(0),
                    _ => throw new InvalidOperationException($"{key}: unexpected rank {single.dim()}"),
                };
                var err = (part - single).abs().max().item<float>();
                Assert.True(err <= 1e-4, $"{name} ({(leftPadding ? "left" : "right")} padding) row {r} {key}: {err:g3}");
                compared++;
            }
        }
        output.WriteLine($"{name}: {compared} tensors equal to unpadded runs");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void LaterTokensDoNotChangeEarlierOnes(string name)
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(FixtureCheck.ModelDir(name), ScalarType.Float32);
        long[] full = [5, 17, 99, 240, 3, 63, 128, 11];
        long[] changed = [5, 17, 99, 240, 3, 1, 2, 3];
        using var a = Run(model, full, [.. Enumerable.Repeat(1L, 8)], 1, 8);
        using var b = Run(model, changed, [.. Enumerable.Repeat(1L, 8)], 1, 8);
        var prefix = (a["logits"].narrow(1, 0, 5) - b["logits"].narrow(1, 0, 5)).abs().max().item<float>();
        var suffix = (a["logits"].narrow(1, 5, 3) - b["logits"].narrow(1, 5, 3)).abs().max().item<float>();
        Assert.True(prefix <= 1e-5, $"{name}: the first 5 logits moved by {prefix:g3} when tokens 5..7 changed");
        Assert.True(suffix > 1e-3, $"{name}: changed tokens left their own logits unchanged ({suffix:g3})");
    }

    [Theory]
    [InlineData("falcon-7b-tiny", ScalarType.BFloat16)]
    [InlineData("falcon-40b-tiny", ScalarType.BFloat16)]
    [InlineData("gpt2-tiny", ScalarType.BFloat16)]
    [InlineData("llama-tiny", ScalarType.BFloat16)]
    [InlineData("falcon-7b-tiny", ScalarType.Float16)]
    [InlineData("falcon-40b-tiny", ScalarType.Float16)]
    [InlineData("gpt2-tiny", ScalarType.Float16)]
    [InlineData("llama-tiny", ScalarType.Float16)]
    public void HalfPrecisionLastHiddenStateIsClose(string name, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(name);
        using var expected = FixtureCheck.Expected(dir);
        using var model = ModelFactory.Load(dir, dtype);
        AsReference(model);
        using var capture = ActivationCapture.All();
        var inputs = FixtureCheck.RunCase(model, dir, capture);
        var layers = model.Config["num_hidden_layers"]?.GetValue<int>() ?? model.Config["n_layer"]!.GetValue<int>();
        var real = inputs.AttentionMask.ne(0).unsqueeze(-1);
        var want = expected.Load($"hidden_states.{layers}");
        var got = capture["last_hidden_state"];
        Assert.True(capture[$"hidden_states.{layers}"].eq(got).all().item<bool>());
        var diff = where(real, got - want, 0.0f);
        var relative = diff.norm().item<float>() / where(real, want, 0.0f).norm().item<float>();
        output.WriteLine($"{name} {dtype}: relative error {relative:g3}");
        Assert.True(relative <= 2e-2, $"{name} {dtype}: last hidden state relative error {relative:g3} > 2e-2");
        Assert.True(relative > 0, "half precision should not be bit-identical to float32");
    }

    [Fact]
    public void UnsupportedModelTypeFailsClearly()
    {
        var dir = CopyFixture("llama-tiny", config => config["model_type"] = "mamba");
        var e = Assert.Throws<NotSupportedException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains("'mamba'", e.Message);
        foreach (var t in new[] { "falcon", "gpt2", "llama" }) Assert.Contains(t, e.Message);
    }

    [Fact]
    public void MissingTensorFailsListingExpectedAndFound()
    {
        var dir = CopyFixture("llama-tiny", dropTensor: "model.layers.1.mlp.up_proj.weight");
        var e = Assert.Throws<InvalidDataException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains("missing: model.layers.1.mlp.up_proj.weight (expected shape [160, 64])", e.Message);
        Assert.Contains("found tensors: lm_head.weight, model.embed_tokens.weight", e.Message);
        Assert.Single(e.Message.Split('\n'), l => l.Contains("missing:"));
    }

    [Fact]
    public void UntiedHeadWithoutWeightsIsReportedMissing()
    {
        var dir = CopyFixture("gpt2-tiny", config => config["tie_word_embeddings"] = false);
        var e = Assert.Throws<InvalidDataException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains("missing: lm_head.weight", e.Message);
    }

    [Fact]
    public void Gpt2LoadsBaseModelKeysWithoutPrefix()
    {
        using var scope = NewDisposeScope();
        var dir = CopyFixture("gpt2-tiny", renameTensor: k => k.StartsWith("transformer.", StringComparison.Ordinal) ? k["transformer.".Length..] : k);
        using var original = ModelFactory.Load(FixtureCheck.ModelDir("gpt2-tiny"), ScalarType.Float32);
        using var renamed = ModelFactory.Load(dir, ScalarType.Float32);
        long[] ids = [5, 17, 99, 240];
        using var a = Run(original, ids, [1, 1, 1, 1], 1, 4);
        using var b = Run(renamed, ids, [1, 1, 1, 1], 1, 4);
        Assert.True(a["logits"].eq(b["logits"]).all().item<bool>());
    }

    [Fact]
    public void FalconRefusesAlibi()
    {
        var dir = CopyFixture("falcon-7b-tiny", config => config["alibi"] = true);
        var e = Assert.Throws<NotSupportedException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains("alibi", e.Message);
    }

    [Fact]
    public void UnknownRopeScalingIsRefused()
    {
        var dir = CopyFixture("llama-tiny", config => config["rope_parameters"] = new JsonObject
        {
            ["rope_theta"] = 10000.0,
            ["rope_type"] = "yarn",
            ["factor"] = 4.0,
        });
        var e = Assert.Throws<NotSupportedException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains("'yarn'", e.Message);
    }

    /// <summary>
    /// The multi-query fused layout (q heads, then one k, one v) and the per-head interleaved layout (q, k, v per head,
    /// <c>multi_query</c> false) describe the same model once the single KV head is copied to every head.
    /// </summary>
    [Fact]
    public void FalconMultiQueryEqualsInterleavedLayoutWithSharedKv()
    {
        using var scope = NewDisposeScope();
        const int heads = 4, headDim = 16, hidden = 64;
        var dir = CopyFixture("falcon-7b-tiny", config => config["multi_query"] = false, editTensor: (name, w) =>
        {
            if (!name.EndsWith("query_key_value.weight", StringComparison.Ordinal)) return w;
            var q = w.narrow(0, 0, hidden).view(heads, headDim, hidden);
            var k = w.narrow(0, hidden, headDim).view(1, headDim, hidden).expand(heads, headDim, hidden);
            var v = w.narrow(0, hidden + headDim, headDim).view(1, headDim, hidden).expand(heads, headDim, hidden);
            return stack([q, k, v], 1).reshape(3 * hidden, hidden).contiguous();
        });
        using var mqa = ModelFactory.Load(FixtureCheck.ModelDir("falcon-7b-tiny"), ScalarType.Float32);
        using var mha = ModelFactory.Load(dir, ScalarType.Float32);
        long[] ids = [5, 17, 99, 240, 3, 63];
        using var a = Run(mqa, ids, [.. Enumerable.Repeat(1L, 6)], 1, 6);
        using var b = Run(mha, ids, [.. Enumerable.Repeat(1L, 6)], 1, 6);
        Assert.Equal(192, b["transformer.h.0.self_attention.query_key_value"].shape[2]);
        foreach (var key in new[] { "attentions.0", "attentions.1", "hidden_states.2", "logits" })
            Assert.True((a[key] - b[key]).abs().max().item<float>() < 1e-5, key);
    }

    /// <summary>Linear RoPE scaling by f puts position p where the default puts p / f; theta comes from the config.</summary>
    [Fact]
    public void RopeScalingAndThetaFollowTheConfig()
    {
        using var scope = NewDisposeScope();
        JsonObject Config(JsonObject rope) => new() { ["max_position_embeddings"] = 128, ["rope_scaling"] = rope, ["rope_theta"] = 500.0 };
        var linear = new Rotary(Config(new JsonObject { ["type"] = "linear", ["factor"] = 4.0 }), 16, "llama");
        var plain = new Rotary(Config(new JsonObject { ["rope_type"] = "default" }), 16, "llama");
        var positions = arange(0, 40, 4, ScalarType.Int64).unsqueeze(0);
        var (cosL, sinL) = linear.Compute(positions, ScalarType.Float32);
        var (cosD, sinD) = plain.Compute((positions / 4).to_type(ScalarType.Int64), ScalarType.Float32);
        Assert.True((cosL - cosD).abs().max().item<float>() < 1e-5 && (sinL - sinD).abs().max().item<float>() < 1e-5);
        // theta 500: the second frequency pair turns by 500^(-2/16) radians per position
        var (cos1, _) = plain.Compute(ones(1, 1, ScalarType.Int64), ScalarType.Float32);
        Near.Equal(Math.Cos(Math.Pow(500, -2.0 / 16)), cos1[0, 0, 1].item<float>(), rel: 0, abs: 1e-6); // a float32 cosine
    }

    private static ActivationCapture Run(ITransformerModel model, long[] ids, long[] mask, long batch, long width)
    {
        var capture = ActivationCapture.All();
        using var i = tensor(ids, [batch, width]);
        using var m = tensor(mask, [batch, width]);
        model.Run(new ModelInputs(i, m), capture);
        return capture;
    }

    /// <summary>Copies a fixture checkpoint to a scratch folder, optionally editing config.json or the tensors.</summary>
    private static string CopyFixture(string name, Action<JsonObject>? editConfig = null, string? dropTensor = null,
        Func<string, string>? renameTensor = null, Func<string, Tensor, Tensor>? editTensor = null)
    {
        var source = FixtureCheck.ModelDir(name);
        var dir = Repo.TempDir();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToIndentedJson());
        if (dropTensor is null && renameTensor is null && editTensor is null)
        {
            File.Copy(Path.Combine(source, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
            return dir;
        }
        using var scope = NewDisposeScope();
        using var file = new SafetensorsFile(Path.Combine(source, "model.safetensors"));
        Assert.True(dropTensor is null || file.Contains(dropTensor));
        var tensors = file.Entries.Keys.Where(k => k != dropTensor)
            .Select(k => new KeyValuePair<string, Tensor>(renameTensor?.Invoke(k) ?? k,
                editTensor?.Invoke(k, file.Load(k)) ?? file.Load(k))).ToList();
        SafetensorsFile.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }
}
