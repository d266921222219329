using System.Text.Json.Nodes;

using Tta.Tests.Download;

namespace Tta.Tests.Config;

/// <summary>
/// A tokenizer whose ids reach past config.json's vocab_size is refused before any stage runs, naming both files,
/// instead of failing deep in Extract with an index error ("ids must lie in [0, 320): got 6..334").
/// </summary>
public class TokenizerConfigCheckTests
{
    private static string Model(TinyWorkspace ws, string fixture, string tokenizer)
    {
        var model = ws.AddModelWeights(fixture);
        File.Copy(Repo.Fixture($"tokenizers/{tokenizer}/tokenizer.json"), Path.Combine(model, "tokenizer.json"));
        ws.WriteExperiment("""
            name: tiny
            models:
              - { id: m, source: local, path: m, name: m }
            texts:
              - { name: one, text: "The quick brown fox." }
            figures:
              formats: [png]
              cell_pixels: 8
            """);
        return model;
    }

    private static void SetVocabSize(string model, int size)
    {
        var path = Path.Combine(model, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["vocab_size"] = size;
        File.WriteAllText(path, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    private static void AssertNamesBoth(string output, string model, int vocabSize, int highest)
    {
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(Path.Combine(model, "config.json"))}:\d+:\d+: 'vocab_size' is {vocabSize}", output);
        Assert.Contains($"the tokenizer {Path.Combine(model, "tokenizer.json")} has token ids up to {highest}", output);
        Assert.Contains("put the model's own tokenizer.json next to its config.json", output);
        Assert.DoesNotContain("ids must lie in", output);
    }

    /// <summary>
    /// flan-t5-tiny with its fixture tokenizer runs; then its config's vocab_size shrinks below the tokenizer's ids: every
    /// stage (and validate) refuses at once, and the cache and figures are left exactly as they were.
    /// </summary>
    [Fact]
    public void ConfigVocabSizeBelowTheTokenizersIdsIsRefusedBeforeAnyStage()
    {
        var ws = new TinyWorkspace();
        var model = Model(ws, "flan-t5-tiny", "t5-unigram-json");
        ws.RunAll();
        var before = ws.Snapshot();
        SetVocabSize(model, 100); // the tokenizer's ids run to 179
        foreach (var args in new[] { new[] { "run", "--stage=Download" }, ["run", "--stage=Extract", "--force-stage=Extract"], ["validate"] })
        {
            var (code, output) = ws.Cli(args[0], args[1..]);
            Assert.True(code != 0, $"{string.Join(' ', args)} passed: {output}");
            AssertNamesBoth(output, model, 100, 179);
        }
        Assert.Equal(before, ws.Snapshot());
    }

    /// <summary>The issue's case: gpt2-tiny (320 embedding rows) with the 400-token byte-level BPE fixture.</summary>
    [Fact]
    public void TokenizerFromALargerVocabularyIsRefusedBeforeExtract()
    {
        var ws = new TinyWorkspace();
        var model = Model(ws, "gpt2-tiny", "bytelevel-bpe");
        var (code, output) = ws.Cli("run", "--stage=Download");
        Assert.True(code != 0, output);
        AssertNamesBoth(output, model, 320, 399);
        Assert.Empty(Directory.Exists(ws.CacheDir)
            ? Directory.GetFiles(ws.CacheDir, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.'))
            : []);
    }

    /// <summary>A Hub download is checked when it arrives: Download fails naming both files and records no manifest.</summary>
    [Fact]
    public void DownloadedCheckpointWithAMismatchedTokenizerFailsInDownload()
    {
        using var hub = new FakeHub();
        var fixture = FixtureCheck.ModelDir("gpt2-tiny");
        hub.AddRepo("org/gpt2-tiny", new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(Path.Combine(fixture, "config.json")),
            ["model.safetensors"] = File.ReadAllBytes(Path.Combine(fixture, "model.safetensors")),
            ["tokenizer.json"] = File.ReadAllBytes(Repo.Fixture("tokenizers/bytelevel-bpe/tokenizer.json")),
        });
        var ws = new TinyWorkspace(HubPipelineTests.Yaml.Replace("org/bert-tiny", "org/gpt2-tiny"));
        var hfCache = Path.Combine(ws.Root, "hf-cache");
        var env = new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HUB_CACHE"] = hfCache,
            ["HF_HOME"] = Path.Combine(ws.Root, "hf-home"),
        };
        var (code, output) = HubPipelineTests.CliProcess(ws, env, "run", "--stage=Download");
        Assert.True(code != 0, output);
        Assert.Matches(@"config\.json:\d+:\d+: 'vocab_size' is 320, but the tokenizer \S+tokenizer\.json has token ids up to 399", output);
        Assert.Empty(Directory.GetFiles(ws.CacheDir, "manifest.json", SearchOption.AllDirectories));
    }
}
