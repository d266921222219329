using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Extract;
using Tta.Store;

namespace Tta.Tests.Extract;

/// <summary>
/// What Extract records of <c>compute_dtype</c>: the resolved value in the store's metadata and as the param
/// <c>model.compute_dtype</c> (so in the fingerprint and the manifest) where it differs from the dtype, and nothing
/// where the model computes in its dtype — so every float32 model keeps its fingerprint and its stores' bytes.
/// </summary>
[Trait("Lane", "Full")]
public class ComputeDTypeExtractTests
{
    private static TinyWorkspace Workspace(string modelKeys) =>
        new(TinyWorkspace.DefaultYaml.Replace("name: tiny\ntexts:", "name: tiny" + modelKeys + "\ntexts:", StringComparison.Ordinal));

    private static (int Code, string Output) Extract(TinyWorkspace ws)
    {
        var (code, output) = ws.Cli("run", "--stage=Download");
        Assert.True(code == 0, output);
        return ws.Cli("run", "--stage=Extract");
    }

    private static Dictionary<string, string> Metadata(TinyWorkspace ws) =>
        Task.Run(() => VectorStoreReader.ReadMetadataAsync(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", ExtractStage.ActivationsFile)))
            .GetAwaiter().GetResult().ToDictionary();

    private static JsonObject Components(TinyWorkspace ws) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "manifest.json")))!["components"]!.AsObject();

    [Fact]
    public void Bfloat16WeightsComputedInFloat32AreRecordedInTheStoreTheManifestAndTheFingerprint()
    {
        var ws = Workspace("\n    dtype: bfloat16\n    compute_dtype: float32");
        var (code, output) = Extract(ws);
        Assert.True(code == 0, output);
        Assert.Contains("model 'tiny' (bfloat16 weights, float32 compute, cpu): needs about", output);
        Assert.Contains("weights upcast at once", output);
        var metadata = Metadata(ws);
        Assert.Equal("bfloat16", metadata[StoreKeys.DType]);
        Assert.Equal("float32", metadata[StoreKeys.ComputeDType]);
        Assert.Equal("float32", StoreKeys.ComputeDTypeOf(metadata));
        Assert.Equal("\"float32\"", Components(ws)["param:" + ExtractUnit.ComputeDTypeParam]!.GetValue<string>());
        Assert.Equal(metadata[StoreKeys.Fingerprint], JsonNode.Parse(File.ReadAllText(
            Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "manifest.json")))!["fingerprint"]!.GetValue<string>());

        // Computing in the dtype instead (today's behaviour) is another fingerprint: Extract is stale, naming the param.
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("name: tiny\ntexts:", "name: tiny\n    dtype: bfloat16\n    compute_dtype: bfloat16\ntexts:", StringComparison.Ordinal));
        var (_, status) = ws.Cli("status", "--stage=Extract", "--explain");
        Assert.Contains("param:model.compute_dtype removed", status);
        (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code == 0, output);
        Assert.Contains("model 'tiny' (bfloat16, cpu): needs about", output);
        Assert.False(Metadata(ws).ContainsKey(StoreKeys.ComputeDType));
        Assert.Equal("bfloat16", StoreKeys.ComputeDTypeOf(Metadata(ws)));
        Assert.Null(Components(ws)["param:" + ExtractUnit.ComputeDTypeParam]);
    }

    [Fact]
    public void AFloat32ModelRecordsNoComputeDTypeAndKeepsItsFingerprintsComponents()
    {
        var ws = Workspace("");
        var (code, output) = Extract(ws);
        Assert.True(code == 0, output);
        Assert.Contains("model 'tiny' (float32, cpu): needs about", output);
        Assert.DoesNotContain("upcast", output);
        Assert.False(Metadata(ws).ContainsKey(StoreKeys.ComputeDType));
        // The components an Extract manifest had before compute_dtype existed, and no other.
        Assert.Equal(
            ["code", "in:Download:local/experiments/model", "param:extract.layers", "param:extract.max_tokens", "param:extract.points", "param:model.device",
             "param:model.dtype", "param:model.id", "param:model.revision", "param:model.source", "param:text", "stage"],
            Components(ws).Select(kv => kv.Key).Order(StringComparer.Ordinal));

        // auto and float32 resolve alike for float32 weights: nothing is stale.
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("name: tiny\ntexts:", "name: tiny\n    compute_dtype: float32\ntexts:", StringComparison.Ordinal));
        var (status, explained) = ws.Cli("status", "--stage=Extract", "--explain");
        Assert.True(status == 0, explained);
    }

    /// <summary>
    /// auto follows the machine's half-precision arithmetic, which TTA_HALF_PRECISION states for a process (what a
    /// Slurm task gets from the planner, so a node with other CPU flags computes as the planner fingerprinted).
    /// </summary>
    [Fact]
    public void AutoFollowsTheHalfPrecisionTheProcessIsGiven()
    {
        var ws = Workspace("\n    dtype: bfloat16");
        var (code, output) = ws.Cli("run", "--stage=Download");
        Assert.True(code == 0, output);
        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Extract"], new Dictionary<string, string> { [Tta.Models.ComputeDTypes.HalfPrecisionVariable] = "bfloat16" });
        Assert.True(code == 0, output);
        Assert.Contains("model 'tiny' (bfloat16, cpu): needs about", output);
        Assert.False(Metadata(ws).ContainsKey(StoreKeys.ComputeDType));

        // Without native bfloat16 the same experiment computes in float32: another fingerprint, so Extract reruns.
        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Extract"], new Dictionary<string, string> { [Tta.Models.ComputeDTypes.HalfPrecisionVariable] = "none" });
        Assert.True(code == 0, output);
        Assert.Contains("model 'tiny' (bfloat16 weights, float32 compute, cpu): needs about", output);
        Assert.Equal("float32", Metadata(ws)[StoreKeys.ComputeDType]);

        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Extract"], new Dictionary<string, string> { [Tta.Models.ComputeDTypes.HalfPrecisionVariable] = "bf16" });
        Assert.NotEqual(0, code);
        Assert.Contains("TTA_HALF_PRECISION=bf16: write none, or bfloat16 and/or float16", output);
    }
}
