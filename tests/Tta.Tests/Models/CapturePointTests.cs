using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Bench;
using Tta.Extract;
using Tta.Models;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// Capture points are records the models make where they record. Checked against the Hugging Face names of every
/// fixture model, parsed here once (the only place outside Models/ that reads names), and against what each
/// architecture lists from its config alone.
/// </summary>
public partial class CapturePointTests
{
    public static TheoryData<string> Fixtures => new() { "bert-tiny", "gpt2-tiny", "t5-v1_0-tiny", "flan-t5-tiny", "falcon-7b-tiny", "falcon-40b-tiny", "llama-tiny" };

    /// <summary>Every recorded tensor of a forward pass on the fixture's case, with its point.</summary>
    private static List<CapturePoint> Recorded(string fixture, out ITransformerModel model)
    {
        var dir = FixtureCheck.ModelDir(fixture);
        model = ModelFactory.Load(dir, ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var capture = ActivationCapture.All();
        model.Run(ForwardRunner.ReadInputs(Path.Combine(dir, "case.json")), capture);
        return [.. capture.Captured.Select(c => c.Point)];
    }

    [GeneratedRegex(@"^(?<series>(?:encoder_|decoder_)?hidden_states)\.(?<n>\d+)$")]
    private static partial Regex HiddenState();

    [GeneratedRegex(@"^(?<series>(?:encoder_|decoder_|cross_)?attentions)\.(?<n>\d+)$")]
    private static partial Regex Attentions();

    [GeneratedRegex(@"\.(?:layer|block|h|layers)\.(\d+)(?:\.|#|$)")]
    private static partial Regex BlockNumber();

    [GeneratedRegex(@"^(?<path>.+)\.(?<part>scores|probs|position_bias|q|k|v|query|key|value|q_proj|k_proj|v_proj|c_attn|query_key_value)$")]
    private static partial Regex AttentionPart();

    [GeneratedRegex(@"^(?<path>.+\.rotary_emb)#(?<item>[01])$")]
    private static partial Regex RotaryTable();

    /// <summary>What the name says the point is, read the way the code before records did (regexes and suffixes).</summary>
    private static CapturePoint FromName(string name, IReadOnlyList<string> stacks)
    {
        var stack = stacks.Count == 1 ? stacks[0]
            : name.StartsWith("decoder", StringComparison.Ordinal) || name.StartsWith("cross_", StringComparison.Ordinal)
              || name is "last_hidden_state" or "logits" || name.StartsWith("lm_head", StringComparison.Ordinal) ? "decoder" : "encoder";
        var cross = name.StartsWith("cross_", StringComparison.Ordinal) || name.Contains(".EncDecAttention", StringComparison.Ordinal);
        int N(Match m) => int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        if (HiddenState().Match(name) is { Success: true } h)
            return new(name, h.Groups["series"].Value, stack, N(h), CaptureKind.HiddenState);
        if (Attentions().Match(name) is { Success: true } a)
            return new(name, a.Groups["series"].Value, stack, N(a), CaptureKind.Attentions, Cross: cross);
        var block = BlockNumber().Match(name) is { Success: true } b ? int.Parse(b.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
        if (name is "last_hidden_state" or "encoder_last_hidden_state") return new(name, name, stack, -1, CaptureKind.Output);
        if (name == "logits") return new(name, name, stack, -1, CaptureKind.Logits);
        if (RotaryTable().Match(name) is { Success: true } r)
            return new(name, r.Groups["path"].Value, stack, -1, r.Groups["item"].Value == "0" ? CaptureKind.RotaryCos : CaptureKind.RotarySin);
        if (AttentionPart().Match(name) is { Success: true } p)
        {
            var kind = p.Groups["part"].Value switch
            {
                "scores" => CaptureKind.AttentionScores,
                "probs" => CaptureKind.AttentionProbs,
                "position_bias" => CaptureKind.PositionBias,
                "q" or "query" or "q_proj" => CaptureKind.Query,
                "k" or "key" or "k_proj" => CaptureKind.Key,
                "v" or "value" or "v_proj" => CaptureKind.Value,
                _ => CaptureKind.QueryKeyValue,
            };
            return new(name, p.Groups["path"].Value, stack, block, kind, Cross: cross);
        }
        var hash = name.IndexOf('#', StringComparison.Ordinal);
        return new(name, hash < 0 ? name : name[..hash], stack, block, CaptureKind.Module, Cross: cross);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void RecordsCarryTheStackLayerKindAndPathTheirNamesSay(string fixture)
    {
        var recorded = Recorded(fixture, out var model);
        using (model)
        {
            Assert.True(recorded.Count > 20, $"{fixture}: {recorded.Count} points");
            Assert.Equal(recorded.Count, recorded.Select(p => p.Name).Distinct().Count());
            var wrong = recorded.Where(p => p != FromName(p.Name, model.Stacks)).Select(p => $"{p} ≠ {FromName(p.Name, model.Stacks)}").ToList();
            Assert.True(wrong.Count == 0, $"{fixture}:\n{string.Join("\n", wrong)}");
            // Every kind a model of this family records is there (the attention parts by architecture).
            var kinds = recorded.Select(p => p.Kind).ToHashSet();
            foreach (var k in new[] { CaptureKind.HiddenState, CaptureKind.Attentions, CaptureKind.Output, CaptureKind.Module,
                         CaptureKind.AttentionScores, CaptureKind.AttentionProbs })
                Assert.Contains(k, kinds);
            Assert.Equal(model.Stacks.Contains("decoder") || model.Stacks.Contains("decoder-only"), kinds.Contains(CaptureKind.Logits));
            Assert.Equal(model.ModelType == "t5", kinds.Contains(CaptureKind.PositionBias));
            Assert.Equal(model.ModelType is "llama" or "falcon", kinds.Contains(CaptureKind.RotaryCos));
            Assert.Equal(model.ModelType == "t5", recorded.Any(p => p.Cross));
            Assert.All(recorded, p => Assert.Null(p.Head));
        }
    }

    /// <summary>
    /// What an architecture lists from config.json alone is exactly what the model records, in order (BERT's pooler,
    /// which depends on the checkpoint, aside: bert-tiny has none).
    /// </summary>
    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TheArchitectureListsExactlyTheRecordedPointsFromTheConfigAlone(string fixture)
    {
        var recorded = Recorded(fixture, out var model);
        using (model)
        {
            var listed = model.Architecture.CapturePoints(CheckpointConfig(fixture)).ToList();
            if (fixture == "bert-tiny")
            {
                Assert.Equal(["pooler.dense", "pooler"], listed.TakeLast(2).Select(p => p.Name));
                listed.RemoveRange(listed.Count - 2, 2);
            }
            Assert.Equal(recorded, listed);
        }
    }

    /// <summary>The Falcon layout no fixture has (sequential blocks), from a synthetic checkpoint of real structure.</summary>
    [Fact]
    public void FalconSequentialBlocksAreListedAsRecorded()
    {
        var dir = Repo.TempDir();
        try
        {
            SyntheticCheckpoint.Write(dir, "falcon-7b", ScalarType.Float32, layers: 2, overrides: new Dictionary<string, JsonNode?>
            {
                ["hidden_size"] = 32,
                ["num_attention_heads"] = 4,
                ["vocab_size"] = 64,
                ["parallel_attn"] = false,
                ["multi_query"] = false,
            });
            using var model = ModelFactory.Load(dir, ScalarType.Float32);
            using var scope = NewDisposeScope();
            using var capture = ActivationCapture.All();
            model.Run(model.Architecture.ForText(model.Config, [3, 5, 7]), capture);
            var recorded = capture.Captured.Select(c => c.Point).ToList();
            Assert.Contains(recorded, p => p.Name == "transformer.h.1.post_attention_layernorm" && p.Layer == 1);
            Assert.Equal(recorded, model.Architecture.CapturePoints(model.Config));
            Assert.DoesNotContain(recorded, p => p != FromName(p.Name, model.Stacks));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Before any stage, a pattern must match a point of some model of the experiment (known from config.json alone):
    /// one that only some of the models have passes, one that none has stops the run naming every model.
    /// </summary>
    [Fact]
    public void APatternMustMatchAPointOfSomeModelOfTheExperiment()
    {
        var ws = new TinyWorkspace();
        foreach (var fixture in new[] { "gpt2-tiny", "llama-tiny" })
        {
            var model = Path.Combine(ws.Root, "experiments", fixture);
            Directory.CreateDirectory(model);
            File.Copy(Path.Combine(FixtureCheck.ModelDir(fixture), "config.json"), Path.Combine(model, "config.json"));
            File.WriteAllText(Path.Combine(model, "model.safetensors"), "not read by the check");
        }
        string Yaml(string points) => $$"""
            name: tiny
            models:
              - { id: gpt2-tiny, source: local, path: gpt2-tiny, name: gpt2 }
              - { id: llama-tiny, source: local, path: llama-tiny, name: llama }
            texts:
              - { name: one, text: "a cat" }
            extract:
              points: [{{points}}]
            """;
        ws.WriteExperiment(Yaml("\"hidden_states.*\", \"*.input_layernorm\", \"transformer.h.1.attn.c_attn\", \"model.rotary_emb#1\""));
        var (ok, printed) = ws.Cli("validate");
        Assert.True(ok == 0, printed);

        ws.WriteExperiment(Yaml("\"hidden_states.*\", \"*.ln_attn\""));
        var (code, output) = ws.Cli("validate");
        Assert.True(code == 2, output);
        Assert.Contains("tiny.yaml:8:31: extract.points: '*.ln_attn' matches no capture point of models 'gpt2' (gpt2-tiny), 'llama' (llama-tiny) — use hidden_states.* (N = 0..2), attentions.*, or module paths such as transformer.h.0.ln_1", output);
    }

    private static JsonObject CheckpointConfig(string fixture) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureCheck.ModelDir(fixture), "config.json")))!.AsObject();

    /// <summary>A store's tta.points gives back the records (kind, path, cross) with the columns' stack, layer and head.</summary>
    [Fact]
    public void StoredPointsRoundTripAndRefuseFilesWithout()
    {
        var attention = new CaptureSite("decoder", 1, "decoder.block.1.layer.1.EncDecAttention").AsCross();
        CapturePoint[] points = [new OutputFields("encoder", "encoder_").HiddenState(2), attention.Part("scores", CaptureKind.AttentionScores),
            attention.Item(0), new OutputFields("decoder", "decoder_").CrossAttentions(1)];
        var json = StoredPoints.Serialize(points.Reverse());
        Assert.Equal(json, StoredPoints.Serialize(points)); // sorted by name, whatever the order
        Assert.Contains("\"encoder_hidden_states.2\":{\"kind\":\"hidden_state\",\"path\":\"encoder_hidden_states\"}", json);
        Assert.Contains("\"kind\":\"attention_scores\",\"path\":\"decoder.block.1.layer.1.EncDecAttention\",\"cross\":true", json);
        var stored = StoredPoints.Read(new Dictionary<string, string> { [StoreKeys.Points] = json }, "f.parquet");
        foreach (var p in points) Assert.Equal(p, stored[StoredPoints.KeyOf(p)]);
        Assert.Equal(points[1] with { Head = 3 }, stored[StoredPoints.KeyOf(points[1]) with { Head = 3 }]);
        Assert.True(stored.IsHiddenStateBlock(StoredPoints.KeyOf(points[0])));
        Assert.False(stored.IsHiddenStateBlock(StoredPoints.KeyOf(points[1])));

        var missing = Assert.Throws<InvalidDataException>(() => StoredPoints.Read(new Dictionary<string, string>(), "old.parquet"));
        Assert.Contains("old.parquet: no 'tta.points' metadata", missing.Message);
        var unknown = Assert.Throws<InvalidDataException>(() => stored[new ActivationPoint("hidden_states.9", "encoder", 9)]);
        Assert.Contains("'hidden_states.9' is not described", unknown.Message);
        Assert.Throws<InvalidDataException>(() => StoredPoints.Read(
            new Dictionary<string, string> { [StoreKeys.Points] = "{\"x\":{\"kind\":\"sparkle\",\"path\":\"x\"}}" }, "f"));
    }
}
