using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

public class T5Tests(ITestOutputHelper output)
{
    /// <summary>Every tensor of the fixture except the inputs must be compared (softmax calls count per fixture name).</summary>
    private static int FixtureTensorCount(string name)
    {
        using var expected = FixtureCheck.Expected(FixtureCheck.ModelDir(name));
        return expected.Entries.Keys.Count(k => !k.StartsWith("input:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("t5-v1_0-tiny")]
    [InlineData("flan-t5-tiny")]
    public void MatchesReferenceFixture(string name)
    {
        var all = FixtureTensorCount(name);
        var compared = FixtureCheck.CompareAll(name, 1e-4, minimumCompared: all);
        output.WriteLine($"{name}: {compared} tensors compared (fixture holds {all}) at 1e-4");
        Assert.Equal(all, compared);
    }

    [Fact]
    public void LoadsEveryCheckpointTensor()
    {
        foreach (var name in new[] { "t5-v1_0-tiny", "flan-t5-tiny" })
        {
            var dir = FixtureCheck.ModelDir(name);
            using var checkpoint = new Checkpoint(dir);
            using var model = T5Model.Load(checkpoint, ScalarType.Float32, ScalarType.Float32);
            checkpoint.LoadInto(model, T5Model.KeyFor, strict: true); // throws on unused checkpoint tensors
            Assert.Contains(model.named_parameters(), p => p.name == "shared.weight");
            Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("embed_tokens", StringComparison.Ordinal));
        }
    }

    // ---- relative position buckets ---------------------------------------------------------------------------------

    /// <summary>The bucket formula of Raffel et al. / Mesh TensorFlow, one position at a time, in float32 arithmetic.</summary>
    private static long ScalarBucket(long relative, bool bidirectional, int numBuckets, int maxDistance)
    {
        long bucket = 0;
        long n;
        if (bidirectional)
        {
            numBuckets /= 2;
            if (relative > 0) bucket += numBuckets;
            n = Math.Abs(relative);
        }
        else n = Math.Max(-relative, 0);
        var maxExact = numBuckets / 2;
        if (n < maxExact) return bucket + n;
        var scaled = MathF.Log((float)n / maxExact) / (float)Math.Log((double)maxDistance / maxExact) * (numBuckets - maxExact);
        return bucket + Math.Min(maxExact + (long)scaled, numBuckets - 1);
    }

    [Theory]
    [InlineData(true, 32, 128)]
    [InlineData(false, 32, 128)]
    [InlineData(true, 64, 256)]
    [InlineData(false, 16, 64)]
    public void BucketsMatchScalarFormulaOnLongSequences(bool bidirectional, int numBuckets, int maxDistance)
    {
        const int length = 300;
        using var scope = NewDisposeScope();
        var buckets = T5RelativePosition.Buckets(length, length, bidirectional, numBuckets, maxDistance);
        Assert.Equal(new long[] { length, length }, buckets.shape);
        var values = buckets.data<long>().ToArray();
        var mismatches = 0;
        var used = new HashSet<long>();
        for (var i = 0; i < length; i++)
            for (var j = 0; j < length; j++)
            {
                var want = ScalarBucket(j - i, bidirectional, numBuckets, maxDistance);
                var got = values[i * length + j];
                used.Add(got);
                if (got != want && mismatches++ < 5) output.WriteLine($"q={i} k={j}: {got}, formula {want}");
            }
        Assert.Equal(0, mismatches);
        // 300 tokens reach past max_distance in both directions: every bucket the direction allows is used.
        // Every bucket is reached except, bidirectionally, the "after, distance 0" one (distance 0 is bucket 0).
        Assert.Equal(bidirectional ? numBuckets - 1 : numBuckets, used.Count);
        Assert.All(used, b => Assert.InRange(b, 0, numBuckets - 1));
    }

    [Fact]
    public void BucketSpotValues()
    {
        // 32 buckets, max distance 128, bidirectional: 16 per side, 8 exact, log buckets 8..15, clamped at 15.
        long B(long rel, bool bi = true) => ScalarBucket(rel, bi, 32, 128);
        using var rel = tensor(new long[] { 0, -1, -7, -8, -127, -128, -1000, 1, 7, 8, 1000 });
        using var bi = T5RelativePosition.Bucket(rel, true, 32, 128);
        Assert.Equal(new long[] { 0, 1, 7, 8, 15, 15, 15, 17, 23, 24, 31 }, bi.data<long>().ToArray());
        Assert.Equal(new[] { 0, 1, 7, 8, 15, 15, 15, 17, 23, 24, 31 }.Select(x => (long)x),
            new long[] { 0, -1, -7, -8, -127, -128, -1000, 1, 7, 8, 1000 }.Select(r => B(r)));
        // unidirectional: keys after the query share bucket 0; 16 exact buckets, 31 for distances ≥ 128.
        using var uni = T5RelativePosition.Bucket(rel, false, 32, 128);
        Assert.Equal(new long[] { 0, 1, 7, 8, 31, 31, 31, 0, 0, 0, 0 }, uni.data<long>().ToArray());
    }

    /// <summary>
    /// 300-token encoder and decoder inputs through the model: the captured position bias of the first layer must be
    /// the checkpoint's bias table indexed by the scalar formula's buckets.
    /// </summary>
    [Fact]
    public void PositionBiasOnLongSequencesUsesTableAndBuckets()
    {
        const int length = 300;
        var dir = FixtureCheck.ModelDir("flan-t5-tiny");
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        using var weights = new SafetensorsFile(Path.Combine(dir, "model.safetensors"));
        var gen = new Random(7);
        var ids = tensor(Enumerable.Range(0, length).Select(_ => (long)gen.Next(2, 300)).ToArray(), [1, length]);
        var inputs = new ModelInputs(ids, ones_like(ids), DecoderInputIds: ids.clone());
        using var capture = ActivationCapture.Matching(["*.block.0.layer.0.SelfAttention.position_bias"]);
        model.Run(inputs, capture);
        foreach (var (stack, bidirectional) in new[] { ("encoder", true), ("decoder", false) })
        {
            var bias = capture[$"{stack}.block.0.layer.0.SelfAttention.position_bias"];
            Assert.Equal(new long[] { 1, 4, length, length }, bias.shape);
            var table = weights.Load($"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight").data<float>().ToArray();
            var got = bias.data<float>().ToArray();
            var heads = 4;
            for (var h = 0; h < heads; h++)
                for (var i = 0; i < length; i++)
                    for (var j = 0; j < length; j++)
                    {
                        var bucket = ScalarBucket(j - i, bidirectional, 32, 128);
                        var want = table[bucket * heads + h];
                        var value = got[(h * length + i) * length + j];
                        if (value != want) Assert.Fail($"{stack} head {h} q={i} k={j}: {value}, table[{bucket}] = {want}");
                    }
        }
    }

    // ---- attention internals ---------------------------------------------------------------------------------------

    /// <summary>
    /// On the captured tensors, per batch row and head: scores = q·kᵀ (no scaling) + position bias, masked keys at the
    /// dtype minimum (encoder padding; decoder causal and padding; cross attention the encoder padding), and
    /// probs = softmax(scores). Computed here in double from the raw values.
    /// </summary>
    [Theory]
    [InlineData("t5-v1_0-tiny")]
    [InlineData("flan-t5-tiny")]
    public void ScoresAreQkPlusBiasAndProbsTheirSoftmax(string name)
    {
        var dir = FixtureCheck.ModelDir(name);
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        using var capture = ActivationCapture.All();
        var inputs = FixtureCheck.RunCase(model, dir, capture);
        var encMask = inputs.AttentionMask.data<long>().ToArray();
        var decMask = inputs.DecoderAttentionMask!.data<long>().ToArray();
        long encLen = inputs.AttentionMask.shape[1], decLen = inputs.DecoderAttentionMask.shape[1];
        var paths = capture.Items.Select(kv => kv.Key).Where(k => k.EndsWith(".scores", StringComparison.Ordinal))
            .Select(k => k[..^".scores".Length]).ToList();
        Assert.Equal(name == "flan-t5-tiny" ? 3 + 2 * 2 : 2 + 2 * 2, paths.Count);
        var checkedHeads = 0;
        foreach (var path in paths)
        {
            var cross = path.Contains("EncDecAttention", StringComparison.Ordinal);
            var decoder = path.StartsWith("decoder.", StringComparison.Ordinal);
            var q = capture[path + ".q"];
            var k = capture[path + ".k"];
            var bias = capture[path + ".position_bias"];
            var scores = capture[path + ".scores"];
            var probs = capture[path + ".probs"];
            long batch = q.shape[0], qLen = q.shape[1], kLen = k.shape[1], inner = q.shape[2];
            var heads = scores.shape[1];
            var dkv = inner / heads;
            Assert.Equal(new[] { batch, heads, qLen, kLen }, scores.shape);
            Assert.Equal(new[] { 1L, heads, qLen, kLen }, bias.shape);
            Assert.Equal(decoder && !cross ? decLen : encLen, kLen);
            var (qa, ka, ba, sa, pa) = (q.data<float>().ToArray(), k.data<float>().ToArray(), bias.data<float>().ToArray(),
                scores.data<float>().ToArray(), probs.data<float>().ToArray());
            for (var b = 0; b < batch; b++)
                for (var h = 0; h < heads; h++)
                {
                    checkedHeads++;
                    for (var i = 0; i < qLen; i++)
                    {
                        var row = new double[kLen];
                        for (var j = 0; j < kLen; j++)
                        {
                            var masked = decoder && !cross ? j > i || decMask[b * decLen + j] == 0 : encMask[b * encLen + j] == 0;
                            var s = sa[((b * heads + h) * qLen + i) * kLen + j];
                            row[j] = s;
                            if (masked)
                            {
                                Assert.True(s <= float.MinValue / 2, $"{path} b{b} h{h} q{i} k{j}: masked score {s}");
                                continue;
                            }
                            double dot = 0;
                            for (var d = 0; d < dkv; d++)
                                dot += (double)qa[(b * qLen + i) * inner + h * dkv + d] * ka[(b * kLen + j) * inner + h * dkv + d];
                            var want = dot + ba[(h * qLen + i) * kLen + j];
                            Assert.True(Math.Abs(s - want) <= 1e-5 * (1 + Math.Abs(want)), $"{path} b{b} h{h} q{i} k{j}: {s} vs {want}");
                        }
                        var max = row.Max();
                        var exp = row.Select(x => Math.Exp(x - max)).ToArray();
                        var sum = exp.Sum();
                        for (var j = 0; j < kLen; j++)
                        {
                            var p = pa[((b * heads + h) * qLen + i) * kLen + j];
                            Assert.True(Math.Abs(p - exp[j] / sum) <= 1e-6, $"{path} b{b} h{h} q{i} k{j}: prob {p} vs {exp[j] / sum}");
                        }
                    }
                }
            // Cross attention has no relative bias: zeros.
            if (cross) Assert.Equal(0f, bias.abs().max().item<float>());
        }
        output.WriteLine($"{name}: {paths.Count} attention calls, {checkedHeads} (row, head) pairs checked");
    }

    // ---- reduced precision -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData("flan-t5-tiny", ScalarType.BFloat16)]
    [InlineData("t5-v1_0-tiny", ScalarType.BFloat16)]
    [InlineData("flan-t5-tiny", ScalarType.Float16)]
    [InlineData("t5-v1_0-tiny", ScalarType.Float16)]
    public void HalfPrecisionDecoderHiddenStatesAreClose(string name, ScalarType dtype)
    {
        var dir = FixtureCheck.ModelDir(name);
        using var scope = NewDisposeScope();
        using var expected = FixtureCheck.Expected(dir);
        using var model = ModelFactory.Load(dir, dtype);
        using var capture = ActivationCapture.Matching(["decoder_hidden_states.*", "logits"]);
        var inputs = FixtureCheck.RunCase(model, dir, capture);
        var real = inputs.DecoderAttentionMask!.unsqueeze(-1).to(ScalarType.Bool);
        var names = capture.Items.Select(kv => kv.Key).ToList();
        Assert.Equal(expected.Entries.Keys.Count(k => k.StartsWith("decoder_hidden_states.", StringComparison.Ordinal)) + 1, names.Count);
        foreach (var n in names)
        {
            var want = expected.Load(n);
            var err = (capture[n] - want).abs().masked_fill(real.logical_not(), 0).max().item<float>();
            var scale = want.abs().masked_fill(real.logical_not(), 0).max().item<float>();
            output.WriteLine($"{name} {dtype} {n}: max abs error {err:g3}, relative {err / scale:g3}");
            Assert.True(err <= 2e-2 * scale, $"{n}: {err} > 2e-2 × {scale}");
            Assert.True(err > 0, $"{n}: identical to float32, so {dtype} was not used");
        }
    }
}
