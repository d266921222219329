using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// A stored weight in the dtype of the activations it meets (the compute dtype, <see cref="ComputeDTypes"/>), for one
/// op: the weight itself when the dtypes match (no copy, nothing changes), else a converted copy that
/// <see cref="Dispose"/> frees right after the op, so at most one weight exists upcast at a time.
/// </summary>
internal readonly struct ComputeWeight : IDisposable
{
    private readonly bool converted;

    public ComputeWeight(Tensor? stored, ScalarType dtype)
    {
        converted = stored is not null && stored.dtype != dtype;
        Optional = converted ? stored!.to_type(dtype) : stored;
    }

    /// <summary>The weight in the compute dtype, or null for an absent (optional) weight.</summary>
    public Tensor? Optional { get; }

    public Tensor Value => Optional ?? throw new InvalidOperationException("no weight");

    public void Dispose()
    {
        if (converted) Optional!.Dispose();
    }
}

/// <summary>The ops that read stored weights in the compute dtype (see <see cref="ComputeWeight"/>).</summary>
internal static class ComputeWeights
{
    /// <summary>
    /// The most elements of a weight <see cref="Linear"/> converts at once (16 MiB in float32): a larger one, such as
    /// a vocabulary-sized head or a 7B model's projection, is converted and applied in row chunks, so its copy stays
    /// small. At this size the allocator reuses the freed chunk instead of mapping fresh pages for each (glibc maps
    /// blocks over 32 MiB anew every time): Falcon-7b's [18176, 4544] bfloat16 weight converted in 0.031 s in 16 MiB
    /// chunks against 0.078 s in 64 MiB ones.
    /// </summary>
    public const long ChunkElements = 1L << 22;

    /// <summary><c>linear(x, weight, bias)</c> in <paramref name="x"/>'s dtype; exactly that call when the weight is in it already.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        if (weight.dtype == x.dtype && (bias is null || bias.dtype == x.dtype)) return nn.functional.linear(x, weight, bias);
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        var chunk = Math.Max(1, ChunkElements / Math.Max(1, cols));
        if (rows <= chunk)
        {
            using var w = new ComputeWeight(weight, x.dtype);
            using var b = new ComputeWeight(bias, x.dtype);
            return nn.functional.linear(x, w.Value, b.Optional);
        }
        var output = empty([.. x.shape[..^1], rows], x.dtype, x.device);
        for (var first = 0L; first < rows; first += chunk)
        {
            var n = Math.Min(chunk, rows - first);
            using var stored = weight.narrow(0, first, n);
            using var storedBias = bias?.narrow(0, first, n);
            using var w = new ComputeWeight(stored, x.dtype);
            using var b = new ComputeWeight(storedBias, x.dtype);
            using var part = nn.functional.linear(x, w.Value, b.Optional);
            using var slot = output.narrow(-1, first, n);
            slot.copy_(part);
        }
        return output;
    }

    /// <summary>
    /// Rows <paramref name="ids"/> of an embedding table, shaped [.. ids, dim], gathered in the stored dtype and then
    /// converted to <paramref name="dtype"/> (never the whole table).
    /// </summary>
    public static Tensor Rows(Tensor table, Tensor ids, ScalarType dtype)
    {
        var rows = table.index_select(0, ids.reshape(-1)).view([.. ids.shape, table.shape[1]]);
        if (rows.dtype == dtype) return rows;
        using (rows) return rows.to_type(dtype);
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

    public Tensor Apply(Tensor x) => ComputeWeights.Linear(x, weight, bias);
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
        if (weight.dtype == x.dtype && bias.dtype == x.dtype) return bias.addmm(x.reshape(-1, x.shape[^1]), weight).view(shape);
        // Another dtype: as a linear map of the transposed weight, converted in chunks like the others.
        using var transposed = weight.t();
        return ComputeWeights.Linear(x, transposed, bias);
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

    /// <summary>The rows of <paramref name="ids"/> in <paramref name="compute"/> (the model's compute dtype).</summary>
    public Tensor Apply(Tensor ids, ScalarType compute)
    {
        var rows = weight.shape[0];
        if (ids.NumberOfElements > 0 && (ids.min().item<long>() < 0 || ids.max().item<long>() >= rows))
            throw new ArgumentOutOfRangeException(nameof(ids), $"ids must lie in [0, {rows}): got {ids.min().item<long>()}..{ids.max().item<long>()}");
        return ComputeWeights.Rows(weight, ids, compute);
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

    public Tensor Apply(Tensor x)
    {
        using var w = new ComputeWeight(weight, x.dtype);
        using var b = new ComputeWeight(bias, x.dtype);
        return nn.functional.layer_norm(x, [weight.shape[0]], w.Value, b.Value, eps);
    }
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
        using var w = new ComputeWeight(weight, x.dtype);
        return w.Value * (x32 * rsqrt(variance.Add(eps))).to_type(x.dtype);
    }
}
