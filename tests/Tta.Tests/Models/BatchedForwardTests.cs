using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// A padded batch (<see cref="IArchitecture.ForBatch"/>) gives each text what a forward pass of that text alone gives:
/// every capture point, sliced to the text (<see cref="BatchSlices.OfText"/>), within 1e-6.
/// </summary>
public class BatchedForwardTests(ITestOutputHelper output)
{
    /// <summary>Texts of different lengths (ids below bert-tiny's vocabulary), [CLS] … [SEP], the longest in the middle.</summary>
    private static List<long[]> Texts()
    {
        var random = new Random(23);
        return [.. new[] { 3, 17, 9, 1, 12 }.Select(n => new long[] { 2 }.Concat(Enumerable.Range(0, n).Select(_ => (long)random.Next(5, 320))).Append(3).ToArray())];
    }

    /// <summary>
    /// The largest difference over every point of every text between its batched slice and its own pass: absolute,
    /// and relative to the point's largest magnitude in that text (float32 keeps about 7 digits, so a value near 10
    /// that differs in its last bits differs by about 1e-6).
    /// </summary>
    public static (double Absolute, double Relative) MaxDifference(ITransformerModel model, IReadOnlyList<long[]> texts, Func<CapturePoint, bool> select,
        Action<string>? log = null)
    {
        using var scope = NewDisposeScope();
        using var batched = new ActivationCapture(select);
        model.Run(ModelInputs.ForBatch(model, texts), batched);
        var (absolute, relative) = (0.0, 0.0);
        for (var b = 0; b < texts.Count; b++)
        {
            using var alone = new ActivationCapture(select);
            model.Run(ModelInputs.ForText(model, texts[b]), alone);
            Assert.Equal(alone.Items.Select(kv => kv.Key), batched.Items.Select(kv => kv.Key));
            foreach (var (name, value) in alone.Items)
            {
                var slice = BatchSlices.OfText(batched[name], b, texts[b].Length);
                Assert.Equal(value.shape, slice.shape);
                var difference = (double)(slice - value).abs().max().item<float>();
                var scale = Math.Max((double)value.abs().max().item<float>(), float.Epsilon);
                if (difference > absolute) log?.Invoke($"text {b} ({texts[b].Length} tokens) {name}: {difference:g3} (max |x| {scale:g3})");
                (absolute, relative) = (Math.Max(absolute, difference), Math.Max(relative, difference / scale));
            }
        }
        return (absolute, relative);
    }

    [Fact]
    public void EveryPointOfEveryTextInAPaddedBatchEqualsItsOwnPass()
    {
        using var model = ModelFactory.Load(FixtureCheck.ModelDir("bert-tiny"), ScalarType.Float32);
        Assert.True(model.Architecture.SupportsBatches);
        var (worst, relative) = MaxDifference(model, Texts(), _ => true, output.WriteLine);
        output.WriteLine($"bert-tiny, 5 texts of 3–19 tokens, every capture point: max abs difference {worst:g3}, relative {relative:g3}");
        Assert.True(worst <= 1e-6, $"max abs difference {worst:g3} > 1e-6");
    }

    [Fact]
    public void ABatchIsRightPaddedWithAMaskOfItsTokens()
    {
        using var model = ModelFactory.Load(FixtureCheck.ModelDir("bert-tiny"), ScalarType.Float32);
        var inputs = ModelInputs.ForBatch(model, [[2, 7, 3], [2, 3]]);
        Assert.Equal([2, 7, 3, 2, 3, 0], inputs.InputIds.data<long>().ToArray());
        Assert.Equal([1, 1, 1, 1, 1, 0], inputs.AttentionMask.data<long>().ToArray());
        Assert.Equal([2L, 3L], inputs.AttentionMask.shape);
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("t5-v1_0-tiny")]
    [InlineData("llama-tiny")]
    [InlineData("falcon-7b-tiny")]
    public void OtherArchitecturesTakeOneTextAtATime(string fixture)
    {
        var dir = FixtureCheck.ModelDir(fixture);
        using var checkpoint = new Checkpoint(dir);
        var architecture = ModelFactory.For(checkpoint.Config, dir);
        Assert.False(architecture.SupportsBatches);
        Assert.Throws<NotSupportedException>(() => architecture.ForBatch(checkpoint.Config, [[1, 2], [3]]));
    }

    [Fact]
    public void ASliceTakesTheTextsRowAndItsPositionsOnEveryTokenDimension()
    {
        using var scope = NewDisposeScope();
        var perToken = arange(2 * 5 * 3, ScalarType.Float32).reshape(2, 5, 3);
        Assert.Equal(perToken[1, TensorIndex.Slice(0, 2)].unsqueeze(0).data<float>().ToArray(), BatchSlices.OfText(perToken, 1, 2).data<float>().ToArray());
        var maps = arange(2 * 2 * 4 * 4, ScalarType.Float32).reshape(2, 2, 4, 4);
        var slice = BatchSlices.OfText(maps, 1, 3);
        Assert.Equal([1L, 2, 3, 3], slice.shape);
        Assert.Equal(maps[1, 1, 2, 2].item<float>(), slice[0, 1, 2, 2].item<float>());
        // A tensor the batch shares (batch dimension 1, such as BERT's position embeddings) is every text's.
        var shared = arange(5 * 3, ScalarType.Float32).reshape(1, 5, 3);
        Assert.Equal([1L, 4, 3], BatchSlices.OfText(shared, 1, 4).shape);
        Assert.Equal([1L, 3], BatchSlices.OfText(arange(6, ScalarType.Float32).reshape(2, 3), 1, 2).shape);
    }
}
