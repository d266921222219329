using System.Text;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests;

/// <summary>The estimate printed before a model loads: Falcon-7b in bf16 fits a 24 GiB machine, in float32 it does not.</summary>
public class MemoryEstimateTests
{
    private const long Falcon7bParameters = 6_921_720_704;

    /// <summary>A Falcon-7b-shaped checkpoint whose weights file is sparse: its header is real, its data never written.</summary>
    private static string SparseFalcon7b()
    {
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"),
            """{"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71, "num_hidden_layers": 32, "vocab_size": 65024}""");
        var bytes = Falcon7bParameters * 2;
        var header = Encoding.UTF8.GetBytes($$$"""{"w": {"dtype": "BF16", "shape": [{{{Falcon7bParameters}}}], "data_offsets": [0, {{{bytes}}}]}}""");
        using var f = File.Create(Path.Combine(dir, "model.safetensors"));
        f.Write(BitConverter.GetBytes((long)header.Length));
        f.Write(header);
        f.SetLength(8 + header.Length + bytes);
        return dir;
    }

    [Fact]
    public void Falcon7bInBfloat16FitsTwentyFourGibibytesAndFloat32DoesNot()
    {
        var dir = SparseFalcon7b();
        const long available = 24L << 30;
        var bf16 = MemoryEstimate.For(dir, ScalarType.BFloat16, tokens: 512, availableOverride: available);
        Assert.Equal(Falcon7bParameters * 2, bf16.WeightBytes);
        Assert.InRange(bf16.ActivationBytes, 100L << 20, 1L << 30); // a layer's working set, not every layer's captures
        Assert.True(bf16.Fits, bf16.ToString());

        var fp32 = MemoryEstimate.For(dir, ScalarType.Float32, tokens: 512, availableOverride: available);
        Assert.Equal(Falcon7bParameters * 4, fp32.WeightBytes);
        Assert.False(fp32.Fits, fp32.ToString());

        // Attention metrics keep whole [heads, T, T] maps: at T = 2048 one block costs gigabytes.
        var kept = MemoryEstimate.For(dir, ScalarType.BFloat16, tokens: 2048, attentionBlocks: 1, availableOverride: available);
        Assert.True(kept.ActivationBytes - MemoryEstimate.For(dir, ScalarType.BFloat16, 2048, 0, available).ActivationBytes
                    == 9L * 71 * 2048 * 2048 * sizeof(float));
    }
}
