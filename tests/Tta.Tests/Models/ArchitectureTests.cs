using System.Text.Json.Nodes;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>Each architecture's facts (<see cref="IArchitecture"/>) against the fixture checkpoints' own files.</summary>
public class ArchitectureTests
{
    /// <summary>Fixture, the config keys that hold its block counts (per stack), its stacks, and the hidden size key.</summary>
    public static TheoryData<string, string[], string[], string> Fixtures => new()
    {
        { "bert-tiny", ["num_hidden_layers"], ["encoder"], "hidden_size" },
        { "gpt2-tiny", ["n_layer"], ["decoder-only"], "n_embd" },
        { "t5-v1_0-tiny", ["num_layers", "num_decoder_layers"], ["encoder", "decoder"], "d_model" },
        { "flan-t5-tiny", ["num_layers", "num_decoder_layers"], ["encoder", "decoder"], "d_model" },
        { "falcon-7b-tiny", ["num_hidden_layers"], ["decoder-only"], "hidden_size" },
        { "falcon-40b-tiny", ["num_hidden_layers"], ["decoder-only"], "hidden_size" },
        { "llama-tiny", ["num_hidden_layers"], ["decoder-only"], "hidden_size" },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void FactsMatchTheFixtureCheckpoint(string fixture, string[] layerKeys, string[] stacks, string hiddenKey)
    {
        var dir = FixtureCheck.ModelDir(fixture);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        var architecture = ModelFactory.For(config, dir);
        Assert.Equal(config["model_type"]!.GetValue<string>(), architecture.ModelType);
        Assert.Equal(stacks, architecture.Stacks);

        // Layer count: the deepest stack's blocks, as the config says; hidden_states.N runs over 0..that.
        var layers = layerKeys.Max(k => config[k]!.GetValue<int>());
        Assert.Equal(layers, architecture.LayerCount(config));
        Assert.Equal(layers, ModelFactory.LayerCount(config, dir));
        var hidden = architecture.CapturePoints(config).Where(p => p.Kind == CaptureKind.HiddenState).ToList();
        Assert.Equal(layers, hidden.Max(p => p.Layer));
        Assert.Equal(stacks, hidden.Select(p => p.Stack).Distinct());

        // The input embedding: the first listed key the checkpoint has is [vocab_size, hidden].
        using var weights = new SafetensorsFile(Path.Combine(dir, "model.safetensors"));
        var key = architecture.InputEmbeddingKeys.First(weights.Entries.ContainsKey);
        Assert.Equal([config["vocab_size"]!.GetValue<long>(), config[hiddenKey]!.GetValue<long>()], weights.Entries[key].Shape);
        using var checkpoint = new Checkpoint(dir);
        using var embeddings = Tta.Metrics.Nearest.NearestTokens.LoadEmbeddings(checkpoint);
        Assert.Equal(weights.Entries[key].Shape, embeddings.shape);

        // One text's inputs: encoder–decoders get the text shifted right behind decoder_start_token_id.
        long[] ids = [12, 57, 199, 3];
        var inputs = architecture.ForText(config, ids);
        Assert.Equal(ids, inputs.InputIds.data<long>().ToArray());
        Assert.Equal([1L, 1, 1, 1], inputs.AttentionMask.data<long>().ToArray());
        if (stacks.Contains("decoder"))
            Assert.Equal([config["decoder_start_token_id"]!.GetValue<long>(), 12, 57, 199], inputs.DecoderInputIds!.data<long>().ToArray());
        else Assert.Null(inputs.DecoderInputIds);

        // The loaded model exposes the same descriptor.
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        Assert.Same(architecture, model.Architecture);
        Assert.Equal(architecture.ModelType, model.ModelType);
    }

    /// <summary>What the attention metric stores for an architecture is what its query·key term reads.</summary>
    [Theory]
    [InlineData("bert-tiny", new[] { CaptureKind.Query, CaptureKind.Key })]
    [InlineData("t5-v1_0-tiny", new[] { CaptureKind.Query, CaptureKind.Key, CaptureKind.PositionBias })]
    [InlineData("gpt2-tiny", new[] { CaptureKind.QueryKeyValue })]
    [InlineData("llama-tiny", new[] { CaptureKind.Query, CaptureKind.Key, CaptureKind.RotaryCos, CaptureKind.RotarySin })]
    [InlineData("falcon-7b-tiny", new CaptureKind[0])]
    public void EachArchitectureNamesWhatItsQueryKeyTermReads(string fixture, CaptureKind[] kinds)
    {
        var dir = FixtureCheck.ModelDir(fixture);
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        Assert.Equal(kinds.Order(), model.Architecture.QueryKeyKinds.Order());
        var ids = new long[] { 5, 9, 14, 3 };
        using var capture = new ActivationCapture(AttentionCaptures.Filter(model.Architecture, [0]));
        var parts = Tta.Metrics.Attention.AttentionDecomposition.Run(model, ids, capture);
        Assert.NotEmpty(parts);
        // Only block 0 (and tables outside blocks), only scores, probabilities and those kinds.
        Assert.All(capture.Captured, c => Assert.True(c.Point.Layer is 0 or -1, c.Point.Name));
        Assert.Equal(kinds.Append(CaptureKind.AttentionScores).Append(CaptureKind.AttentionProbs).Order(),
            capture.Captured.Select(c => c.Point.Kind).Distinct().Order());
        Assert.All(parts, p => Assert.Equal(kinds.Length > 0, p.Qk is not null));
    }
}
