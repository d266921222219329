using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Base of the decoder-only architectures (Falcon, GPT-2, Llama): holds the config, dtype and device, loads the
/// checkpoint into the module tree and prepares the per-batch masks and positions.
/// </summary>
public abstract class DecoderModel : nn.Module, ITransformerModel
{
    protected DecoderModel(string name, JsonObject config, ScalarType dtype, Device? device) : base(name)
    {
        Config = config;
        DType = dtype;
        Device = device ?? CPU;
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new NotSupportedException($"{name}: dtype {dtype} is not supported (float32, bfloat16, float16)");
    }

    public abstract string ModelType { get; }
    public JsonObject Config { get; }
    public IReadOnlyList<string> Stacks { get; } = ["decoder-only"];
    public ScalarType DType { get; }
    public Device Device { get; }

    public void Run(ModelInputs inputs, ActivationCapture capture)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var ids = inputs.InputIds.to(ScalarType.Int64, Device);
        var mask = inputs.AttentionMask.to(ScalarType.Int64, Device);
        if (ids.dim() != 2 || !ids.shape.SequenceEqual(mask.shape))
            throw new ArgumentException($"{ModelType}: input_ids [{string.Join(", ", ids.shape)}] and attention_mask " +
                                        $"[{string.Join(", ", mask.shape)}] must both be [batch, seq]");
        Forward(ids, mask, capture);
    }

    /// <summary>One forward pass on device tensors; intermediates are disposed by the caller's scope.</summary>
    protected abstract void Forward(Tensor ids, Tensor mask, ActivationCapture capture);

    /// <summary>Copies the checkpoint into this module; parameters under <paramref name="basePrefix"/> also accept
    /// keys saved without it (base-model checkpoints such as the original <c>gpt2</c>).</summary>
    protected void LoadWeights(Checkpoint checkpoint, string basePrefix)
    {
        checkpoint.LoadInto(this, name =>
        {
            if (checkpoint.Contains(name)) return name;
            if (name.StartsWith(basePrefix, StringComparison.Ordinal) && checkpoint.Contains(name[basePrefix.Length..]))
                return name[basePrefix.Length..];
            return name;
        });
    }

    /// <summary>
    /// Runs a block in its own dispose scope: only its output (the next hidden state) leaves it, and the input hidden
    /// state is released (whatever the capture wanted of it was copied before), so memory holds one block's
    /// intermediates and one hidden state, whatever the depth.
    /// </summary>
    protected static Tensor RunBlock(Tensor input, Func<Tensor> block)
    {
        Tensor output;
        using (var scope = NewDisposeScope()) output = block().MoveToOuterDisposeScope();
        input.Dispose();
        return output;
    }

    /// <summary>Creates an uninitialised parameter (weights come from the checkpoint).</summary>
    internal static Parameter Weight(long[] shape, ScalarType dtype, Device device)
    {
        using var _ = no_grad();
        return new Parameter(empty(shape, dtype, device).DetachFromDisposeScope(), requires_grad: false);
    }
}

/// <summary>A linear map in Hugging Face <c>nn.Linear</c> layout: weight [out, in], optional bias.</summary>
internal sealed class LinearMap : nn.Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public LinearMap(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, Device device) : base(nameof(LinearMap))
    {
        weight = DecoderModel.Weight([outFeatures, inFeatures], dtype, device);
        if (hasBias) bias = DecoderModel.Weight([outFeatures], dtype, device);
        RegisterComponents();
    }

    public Tensor Weight => weight;

    public Tensor Apply(Tensor x) => nn.functional.linear(x, weight, bias);
}

/// <summary>GPT-2's Conv1D: weight stored [in, out] (transposed against <c>nn.Linear</c>), bias [out].</summary>
internal sealed class Conv1DMap : nn.Module
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public Conv1DMap(long inFeatures, long outFeatures, ScalarType dtype, Device device) : base(nameof(Conv1DMap))
    {
        weight = DecoderModel.Weight([inFeatures, outFeatures], dtype, device);
        bias = DecoderModel.Weight([outFeatures], dtype, device);
        RegisterComponents();
    }

    public Tensor Apply(Tensor x)
    {
        var shape = x.shape.ToArray();
        shape[^1] = weight.shape[1];
        return bias.addmm(x.reshape(-1, x.shape[^1]), weight).view(shape);
    }
}

/// <summary>Token (or position) embedding table [rows, dim].</summary>
internal sealed class EmbeddingTable : nn.Module
{
    private readonly Parameter weight;

    public EmbeddingTable(long rows, long dim, ScalarType dtype, Device device) : base(nameof(EmbeddingTable))
    {
        weight = DecoderModel.Weight([rows, dim], dtype, device);
        RegisterComponents();
    }

    public Tensor Weight => weight;

    public Tensor Apply(Tensor ids)
    {
        var rows = weight.shape[0];
        if (ids.NumberOfElements > 0 && (ids.min().item<long>() < 0 || ids.max().item<long>() >= rows))
            throw new ArgumentOutOfRangeException(nameof(ids), $"ids must lie in [0, {rows}): got {ids.min().item<long>()}..{ids.max().item<long>()}");
        return weight.index_select(0, ids.reshape(-1)).view([.. ids.shape, weight.shape[1]]);
    }
}

/// <summary>LayerNorm over the last dimension with weight and bias.</summary>
internal sealed class LayerNormMap : nn.Module
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double eps;

    public LayerNormMap(long dim, double eps, ScalarType dtype, Device device) : base(nameof(LayerNormMap))
    {
        weight = DecoderModel.Weight([dim], dtype, device);
        bias = DecoderModel.Weight([dim], dtype, device);
        this.eps = eps;
        RegisterComponents();
    }

    public Tensor Apply(Tensor x) => nn.functional.layer_norm(x, [weight.shape[0]], weight, bias, eps);
}

/// <summary>Llama RMSNorm: normalises in float32, casts back, then scales by the weight.</summary>
internal sealed class RmsNormMap : nn.Module
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNormMap(long dim, double eps, ScalarType dtype, Device device) : base(nameof(RmsNormMap))
    {
        weight = DecoderModel.Weight([dim], dtype, device);
        this.eps = eps;
        RegisterComponents();
    }

    public Tensor Apply(Tensor x)
    {
        var x32 = x.to_type(ScalarType.Float32);
        var variance = x32.Squared().mean([-1L], keepdim: true);
        return weight * (x32 * rsqrt(variance.Add(eps))).to_type(x.dtype);
    }
}

/// <summary>Masks, positions, activations and attention shared by the decoder-only models.</summary>
public static class DecoderOps
{
    /// <summary>
    /// Which (query, key) pairs may attend, [batch, 1, seq, seq] bool: key at or before the query (causal) and a real
    /// token (attention_mask 1). Left and right padding alike.
    /// </summary>
    public static Tensor AllowedPairs(Tensor attentionMask)
    {
        var seq = attentionMask.shape[1];
        var causal = ones([seq, seq], ScalarType.Bool, attentionMask.device).tril();
        var keys = attentionMask.Ne(0).unsqueeze(1).unsqueeze(1); // [b, 1, 1, k]
        return causal.unsqueeze(0).unsqueeze(0).logical_and(keys);
    }

    /// <summary>Additive mask in <paramref name="dtype"/>: 0 where allowed, the dtype's lowest value elsewhere (as Hugging Face's eager attention).</summary>
    public static Tensor AdditiveMask(Tensor allowed, ScalarType dtype)
    {
        var lowest = finfo(dtype).min;
        var zero = zeros(1, dtype, allowed.device);
        return where(allowed, zero, ScalarOps.Full([1], lowest, dtype, allowed.device));
    }

    /// <summary>
    /// Position ids. Without left padding (no row has a real token after a pad) Hugging Face's forward uses
    /// <c>arange(seq)</c>, shaped [1, seq]; with left padding we follow its <c>generate()</c> convention,
    /// <c>cumsum(mask) - 1</c> with pads set to 1, shaped [batch, seq], so every sequence's real tokens sit at 0..n-1.
    /// </summary>
    public static Tensor PositionIds(Tensor attentionMask)
    {
        var seq = attentionMask.shape[1];
        var real = attentionMask.Ne(0);
        var leftPadded = seq > 1 && real.narrow(1, 1, seq - 1).logical_and(real.narrow(1, 0, seq - 1).logical_not()).any().item<bool>();
        if (!leftPadded) return ScalarOps.Arange(seq, ScalarType.Int64, attentionMask.device).unsqueeze(0);
        var pos = real.to_type(ScalarType.Int64).cumsum(1).Sub(1L);
        return pos.MaskedFill(real.logical_not(), 1L);
    }

    public static readonly IReadOnlyList<string> Activations = ["gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh"];

    /// <summary>Fails early, at load time, for an activation <see cref="Activation"/> does not know.</summary>
    public static string CheckActivation(string name, string modelType) => Activations.Contains(name)
        ? name
        : throw new NotSupportedException($"{modelType}: activation '{name}' is not supported ({string.Join(", ", Activations)})");

    /// <summary>
    /// Hugging Face activations by config name (<c>ACT2FN</c>). gelu_new is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
    /// which is torch's tanh-approximated GELU (one fused kernel, no scalars).
    /// </summary>
    public static Tensor Activation(string name, Tensor x) => name switch
    {
        "gelu" or "gelu_python" => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        "silu" or "swish" => nn.functional.silu(x),
        "tanh" => tanh(x),
        _ => throw new NotSupportedException($"activation '{name}' is not supported ({string.Join(", ", Activations)})"),
    };

    /// <summary>Repeats each of the KV heads [b, kv, s, d] for <paramref name="groups"/> query heads: query head i uses KV head i / groups.</summary>
    public static Tensor RepeatKv(Tensor kv, long groups)
    {
        if (groups == 1) return kv;
        var (b, h, s, d) = (kv.shape[0], kv.shape[1], kv.shape[2], kv.shape[3]);
        return kv.unsqueeze(2).expand(b, h, groups, s, d).reshape(b, h * groups, s, d);
    }

    /// <summary>
    /// Scaled dot-product attention with capture: scores = q·kᵀ·scale + mask (recorded as <c>path.scores</c>),
    /// probs = softmax (recorded as <c>path.probs</c>, computed in float32 when <paramref name="softmaxInFloat32"/>),
    /// returns probs·v [b, h, s, d] and the probs.
    /// </summary>
    public static (Tensor Output, Tensor Probs) Attend(Tensor q, Tensor k, Tensor v, Tensor mask, double scale,
        bool softmaxInFloat32, ActivationCapture capture, string path)
    {
        var groups = q.shape[1] / k.shape[1];
        if (q.shape[1] != groups * k.shape[1])
            throw new InvalidOperationException($"{path}: {q.shape[1]} query heads are not a multiple of {k.shape[1]} KV heads");
        k = RepeatKv(k, groups);
        v = RepeatKv(v, groups);
        var scores = matmul(q, k.transpose(-1, -2)).MulInPlace(scale);
        scores.AddInPlace(mask);
        capture.Record(path + ".scores", scores);
        var probs = softmaxInFloat32
            ? scores.softmax(-1, ScalarType.Float32).to_type(q.dtype)
            : scores.softmax(-1);
        capture.Record(path + ".probs", probs);
        return (matmul(probs, v), probs);
    }

    /// <summary>[b, h, s, d] → [b, s, h·d].</summary>
    public static Tensor MergeHeads(Tensor x) =>
        x.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], x.shape[1] * x.shape[3]);

    /// <summary>[b, s, h·d] → [b, h, s, d].</summary>
    public static Tensor SplitHeads(Tensor x, long heads, long headDim) =>
        x.view(x.shape[0], x.shape[1], heads, headDim).transpose(1, 2);

    /// <summary>Records <paramref name="value"/> when wanted and returns it.</summary>
    internal static Tensor Rec(this ActivationCapture capture, string name, Tensor value)
    {
        capture.Record(name, value);
        return value;
    }
}

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
