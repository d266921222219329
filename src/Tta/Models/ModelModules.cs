using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

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
