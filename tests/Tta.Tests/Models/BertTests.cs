using System.Text.Json.Nodes;
using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

public class BertTests(ITestOutputHelper output)
{
    private static readonly string Dir = FixtureCheck.ModelDir("bert-tiny");

    /// <summary>Every non-input tensor transformers recorded (case.json lists them).</summary>
    private static List<string> FixtureTensorNames() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "case.json")))!["tensors"]!.AsObject()
            .Select(kv => kv.Key).Where(k => !k.StartsWith("input:", StringComparison.Ordinal)).ToList();

    [Fact]
    public void EveryModuleOutputMatchesTransformersInFloat32()
    {
        var names = FixtureTensorNames();
        var compared = FixtureCheck.CompareAll("bert-tiny", 1e-4, minimumCompared: names.Count);
        Assert.Equal(names.Count, compared);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 2e-2)]
    [InlineData(ScalarType.Float16, 5e-3)]
    public void HalfPrecisionHiddenStatesStayClose(ScalarType dtype, double relative)
    {
        using var scope = NewDisposeScope();
        using var expected = FixtureCheck.Expected(Dir);
        using var model = ModelFactory.Load(Dir, dtype);
        using var capture = ActivationCapture.Matching(["hidden_states.*", "last_hidden_state"]);
        var inputs = FixtureCheck.RunCase(model, Dir, capture);
        var layers = model.Config.Int("num_hidden_layers");
        Assert.Equal(layers + 2, capture.Items.Count);
        var real = inputs.AttentionMask.to(ScalarType.Float32).unsqueeze(-1);
        foreach (var (name, actual) in capture.Items)
        {
            var want = expected.Load(name);
            var err = ((actual - want).abs() * real).max().item<float>();
            var scale = (want.abs() * real).max().item<float>();
            output.WriteLine($"{dtype} {name}: max abs error {err:g3}, relative to max |x| {err / scale:g3}");
            Assert.True(err <= relative * scale, $"{dtype} {name}: max abs error {err:g3} > {relative} × {scale:g3}");
            Assert.True(err > 0, $"{dtype} {name}: identical to float32, so the model did not run in {dtype}");
        }
    }

    [Fact]
    public void PaddingDoesNotChangeRealTokens()
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(Dir, ScalarType.Float32);
        long[] a = [2, 40, 41, 42, 43, 44, 3], b = [2, 50, 51, 3];
        var batch = new ModelInputs(
            tensor(a.Concat(b).Concat(new long[3]).ToArray(), [2, 7]),
            tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }, [2, 7]));
        using var padded = ActivationCapture.Matching(["last_hidden_state", "attentions.0"]);
        model.Run(batch, padded);
        using var alone = ActivationCapture.Matching(["last_hidden_state"]);
        model.Run(new ModelInputs(tensor(b, [1, 4]), ones(1, 4, ScalarType.Int64)), alone);
        var err = (padded["last_hidden_state"][1, TensorIndex.Slice(0, 4)] - alone["last_hidden_state"][0]).abs().max().item<float>();
        Assert.True(err < 1e-5, $"padding changed real tokens by {err}");
        // No probability mass on padded keys; rows still sum to one.
        var probs = padded["attentions.0"][1];
        Assert.True(probs[TensorIndex.Ellipsis, TensorIndex.Slice(4, null)].abs().max().item<float>() == 0);
        Assert.True((probs.sum(-1) - 1).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void SelectionKeepsOnlyMatchingPoints()
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(Dir, ScalarType.Float32);
        using var capture = ActivationCapture.Matching(["encoder.layer.*.attention.self.probs"]);
        var inputs = FixtureCheck.RunCase(model, Dir, capture);
        Assert.Equal(["encoder.layer.0.attention.self.probs", "encoder.layer.1.attention.self.probs"], capture.Items.Select(kv => kv.Key));
    }
}
