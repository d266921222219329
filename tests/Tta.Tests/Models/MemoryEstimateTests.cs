using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// The estimate printed before a model loads counts the config's own layers and sizes: Falcon-7b in bf16 fits a
/// 24 GiB machine and float32 does not; an absurd config is refused before anything is allocated; out-of-range
/// config values are errors naming config.json and the key.
/// </summary>
public class MemoryEstimateTests
{
    private const long Falcon7bParameters = 6_921_720_704;

    private static string Checkpoint(string config, long parameters = 16)
    {
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), config);
        // A weights file whose header is real and whose data is a hole (sparse): nothing of it is ever read here.
        var bytes = parameters * 2;
        var header = Encoding.UTF8.GetBytes($$$"""{"w": {"dtype": "BF16", "shape": [{{{parameters}}}], "data_offsets": [0, {{{bytes}}}]}}""");
        using var f = File.Create(Path.Combine(dir, "model.safetensors"));
        f.Write(BitConverter.GetBytes((long)header.Length));
        f.Write(header);
        f.SetLength(8 + header.Length + bytes);
        return dir;
    }

    private const string Falcon7b = """{"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71, "num_hidden_layers": 32, "vocab_size": 65024}""";

    [Fact]
    public void Falcon7bInBfloat16FitsTwentyFourGibibytesAndFloat32DoesNot()
    {
        var dir = Checkpoint(Falcon7b, Falcon7bParameters);
        const long available = 24L << 30;
        var bf16 = MemoryEstimate.For(dir, ScalarType.BFloat16, tokens: 512, availableOverride: available);
        Assert.Equal(Falcon7bParameters * 2.0, bf16.WeightBytes); // counted from the config, as the model allocates it
        Assert.InRange(bf16.ActivationBytes, 100L << 20, 1L << 30); // one block's working set, not every block's
        Assert.True(bf16.Fits, bf16.ToString());

        var fp32 = MemoryEstimate.For(dir, ScalarType.Float32, tokens: 512, availableOverride: available);
        Assert.Equal(Falcon7bParameters * 4.0, fp32.WeightBytes);
        Assert.False(fp32.Fits, fp32.ToString());

        // Attention maps grow with T²: 71 heads at 2048 tokens are several hundred MB per map.
        var longer = MemoryEstimate.For(dir, ScalarType.BFloat16, tokens: 2048, availableOverride: available);
        Assert.True(longer.WorkingSetBytes > 2 * 71.0 * 2048 * 2048 * 2, longer.ToString());
    }

    [Fact]
    public void TheEstimateUsesTheConfigsLayerCount()
    {
        var twelve = MemoryEstimate.For(Checkpoint(Falcon7b.Replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 12")), ScalarType.BFloat16, 64, 1L << 40);
        var twentyFour = MemoryEstimate.For(Checkpoint(Falcon7b.Replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 24")), ScalarType.BFloat16, 64, 1L << 40);
        var perBlock = (twentyFour.WeightBytes - twelve.WeightBytes) / 12 / 2;
        Assert.Equal(4544.0 * (4544 + 2 * 64) + 4544.0 * 4544 + 2 * 4544.0 * 18176 + 2 * 4544, perBlock);
    }

    [Fact]
    public void ComputingBfloat16WeightsInFloat32AddsOneUpcastChunkAndFloat32Activations()
    {
        var dir = Checkpoint(Falcon7b, Falcon7bParameters);
        const long available = 24L << 30;
        var bf16 = MemoryEstimate.For(dir, ScalarType.BFloat16, tokens: 512, availableOverride: available);
        var upcast = MemoryEstimate.For(dir, ScalarType.BFloat16, tokens: 512, availableOverride: available, compute: ScalarType.Float32);
        Assert.Equal(0, bf16.UpcastBytes); // computing in the load dtype converts nothing
        Assert.Equal(bf16.WeightBytes, upcast.WeightBytes); // the weights stay bfloat16
        // Every Falcon-7b weight but the norms is larger than a chunk (2²² elements): one chunk in float32, 16 MiB.
        const double chunk = 1 << 22;
        Assert.Equal(chunk * 4, upcast.UpcastBytes);
        // Activations twice the bytes (Falcon has no float32 softmax term), but for the boolean mask (T² bytes either way).
        Assert.Equal(2 * bf16.WorkingSetBytes - 512.0 * 512, upcast.WorkingSetBytes);
        Assert.Equal(bf16.CaptureBytes, upcast.CaptureBytes); // captures are float32 copies either way
        Assert.Equal(bf16.TotalBytes + (upcast.WorkingSetBytes - bf16.WorkingSetBytes) + chunk * 4, upcast.TotalBytes);
        Assert.Contains("weights upcast at once 0.02 GiB", upcast.ToString());

        // Each tensor counts up to one chunk: BERT-base's largest, its 30522 × 768 word embeddings (a bound: lookups convert rows).
        var bert = Checkpoint("""{"model_type": "bert", "hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12, "intermediate_size": 3072, "vocab_size": 30522}""");
        var bertUpcast = MemoryEstimate.For(bert, ScalarType.BFloat16, tokens: 128, availableOverride: available, compute: ScalarType.Float32);
        Assert.Equal(Math.Min(30522.0 * 768, chunk) * 4, bertUpcast.UpcastBytes);
        Assert.DoesNotContain("upcast", bf16.ToString());
        Assert.True(upcast.Fits, upcast.ToString());
    }

    private static long Rss()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    [Fact]
    public void AnAbsurdConfigIsRefusedBeforeAnythingIsAllocated()
    {
        var dir = Checkpoint("""
            {"model_type": "bert", "num_hidden_layers": 100000000, "hidden_size": 1000000000, "num_attention_heads": 1,
             "intermediate_size": 4000000000, "vocab_size": 30522}
            """.Replace("4000000000", "1000000000"));
        var estimate = MemoryEstimate.For(dir, ScalarType.Float32, tokens: 512, availableOverride: 24L << 30);
        Assert.False(estimate.Fits);
        Assert.True(estimate.WeightBytes > 1e26, estimate.ToString()); // 10⁸ layers × ~4·10¹⁸ parameters, no overflow
        Assert.Contains("GiB", estimate.ToString());

        var before = Rss();
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<InsufficientMemoryException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.True(Rss() - before < 256L << 20, $"RSS grew by {(Rss() - before) >> 20} MiB");
        Assert.Contains(Path.Combine(dir, "config.json"), e.Message);
        Assert.Contains("100000000 blocks", e.Message);
    }

    [Fact]
    public void TheExtractStageRefusesTheAbsurdConfigWithTheEstimate()
    {
        var ws = new TinyWorkspace();
        var config = Path.Combine(ws.Root, "experiments", "model", "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        json["num_hidden_layers"] = 100_000_000;
        json["hidden_size"] = 1_000_000_000;
        File.WriteAllText(config, json.ToJsonString());
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.NotEqual(0, code);
        Assert.Contains("needs about", output);
        Assert.Contains("not loading it. Use a smaller dtype", output); // no --memory-limit given: not named
        Assert.Empty(Directory.GetFiles(ws.CacheDir, "*.parquet", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("vocab_size", "4000000000", "'vocab_size' is 4000000000")]
    [InlineData("hidden_size", "-64", "'hidden_size' is -64; expected a positive integer")]
    [InlineData("num_attention_heads", "2.5", "'num_attention_heads' is 2.5")]
    [InlineData("num_hidden_layers", "\"twelve\"", "'num_hidden_layers' is \"twelve\"")]
    [InlineData("layer_norm_eps", "\"small\"", "'layer_norm_eps' is \"small\"; expected a number")]
    public void OutOfRangeConfigValuesNameTheFileAndTheKey(string key, string value, string expected)
    {
        var dir = Repo.TempDir();
        var fixture = FixtureCheck.ModelDir("bert-tiny");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "config.json")))!.AsObject();
        json[key] = JsonNode.Parse(value);
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        File.Copy(Path.Combine(fixture, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        foreach (var call in new Action[] { () => ModelFactory.Load(dir, ScalarType.Float32), () => MemoryEstimate.For(dir, ScalarType.Float32, 16) })
        {
            var e = Assert.Throws<InvalidDataException>(call);
            Assert.StartsWith(Path.Combine(dir, "config.json") + ": " + expected, e.Message);
        }
    }
}
