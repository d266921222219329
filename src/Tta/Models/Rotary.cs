using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Rotary position embedding as Hugging Face computes it (<c>rope_parameters</c> in transformers 5 configs,
/// <c>rope_theta</c> + <c>rope_scaling</c> in older ones): types default, linear, dynamic (NTK) and llama3;
/// any other type is refused with a clear error.
/// </summary>
public sealed class Rotary
{
    public static readonly IReadOnlyList<string> SupportedTypes = ["default", "linear", "dynamic", "llama3"];

    private readonly int dim;
    private readonly double theta;
    private readonly string type;
    private readonly double factor;
    private readonly int maxPositions;
    private readonly double lowFreqFactor, highFreqFactor;
    private readonly int originalMaxPositions;

    public Rotary(JsonObject config, int headDim, string modelType)
    {
        // transformers 5 folds theta and scaling into rope_parameters; older configs have rope_theta + rope_scaling.
        var p = config["rope_parameters"] as JsonObject ?? config["rope_scaling"] as JsonObject ?? new JsonObject();
        theta = p.Double("rope_theta", config.Double("rope_theta", 10000.0));
        type = p.Str("rope_type", p.Str("type", "default"));
        if (!SupportedTypes.Contains(type))
            throw new NotSupportedException($"{modelType}: rope type '{type}' is not supported (supported: {string.Join(", ", SupportedTypes)})");
        var partial = p.Double("partial_rotary_factor", config.Double("partial_rotary_factor", 1.0));
        if (partial != 1.0)
            throw new NotSupportedException($"{modelType}: partial_rotary_factor {partial} is not supported (only 1.0)");
        dim = headDim;
        factor = p.Double("factor", 1.0);
        if (type != "default" && p["factor"] is null)
            throw new InvalidDataException($"{modelType}: rope type '{type}' needs a 'factor'");
        maxPositions = config.Size("max_position_embeddings", 2048);
        lowFreqFactor = p.Double("low_freq_factor", 1.0);
        highFreqFactor = p.Double("high_freq_factor", 4.0);
        originalMaxPositions = p.Size("original_max_position_embeddings", maxPositions);
    }

    private Tensor InverseFrequencies(double b, Device device) =>
        ScalarOps.Full([1], b, ScalarType.Float32, device)
            .pow(ScalarOps.Arange(0, dim, 2, ScalarType.Int64, device).to_type(ScalarType.Float32).Div(dim)).reciprocal();

    private Tensor InverseFrequencies(long seqLen, Device device)
    {
        switch (type)
        {
            case "linear":
                return InverseFrequencies(theta, device).Div(factor);
            case "dynamic":
                if (seqLen <= maxPositions) return InverseFrequencies(theta, device);
                var b = theta * Math.Pow(factor * seqLen / maxPositions - (factor - 1), dim / (dim - 2.0));
                return InverseFrequencies(b, device);
            case "llama3":
                {
                    var inv = InverseFrequencies(theta, device);
                    var lowWavelen = originalMaxPositions / lowFreqFactor;
                    var highWavelen = originalMaxPositions / highFreqFactor;
                    var wavelen = inv.RDiv(2 * Math.PI);
                    var scaled = where(wavelen.Gt(lowWavelen), inv.Div(factor), inv);
                    var smooth = wavelen.RDiv(originalMaxPositions).Sub(lowFreqFactor).Div(highFreqFactor - lowFreqFactor);
                    var smoothed = smooth.RSub(1.0).mul(scaled).Div(factor).Add(smooth.mul(scaled));
                    var medium = wavelen.Lt(highWavelen).logical_not().logical_and(wavelen.Gt(lowWavelen).logical_not());
                    return where(medium, smoothed, scaled);
                }
            default:
                return InverseFrequencies(theta, device);
        }
    }

    /// <summary>The points of the cos and sin tables a model records from its rotary module <paramref name="at"/> (<c>#0</c>, <c>#1</c>).</summary>
    public static CapturePoint[] Points(CaptureSite at) =>
        [at.Item(0) with { Kind = CaptureKind.RotaryCos }, at.Item(1) with { Kind = CaptureKind.RotarySin }];

    /// <summary>cos and sin [positions.batch, seq, dim] in <paramref name="dtype"/>, computed in float32.</summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positionIds, ScalarType dtype)
    {
        var device = positionIds.device;
        var seqLen = positionIds.max().item<long>() + 1;
        var inv = InverseFrequencies(seqLen, device);
        var freqs = positionIds.to_type(ScalarType.Float32).unsqueeze(-1) * inv; // [b, s, dim/2]
        var emb = cat([freqs, freqs], -1);
        return (emb.cos().to_type(dtype), emb.sin().to_type(dtype));
    }

    /// <summary>x·cos + rotate_half(x)·sin for x [b, h, s, d] and cos/sin [b, s, d].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
        return (x * cos.unsqueeze(1)).Add(rotated * sin.unsqueeze(1));
    }
}
