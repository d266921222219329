namespace Tta.Models;

/// <summary>Collects the tensors of a checkpoint layout under a name prefix (<c>transformer.h.{i}.</c> for a block template).</summary>
internal sealed class LayoutBuilder(string prefix = "")
{
    public List<TensorSpec> Tensors { get; } = [];

    /// <summary>A norm: <c>weight</c> (ones) and, unless RMS-style, <c>bias</c> (zeros).</summary>
    public LayoutBuilder Norm(string name, long dim, bool bias = true)
    {
        Tensors.Add(new($"{prefix}{name}.weight", [dim], TensorFill.Ones));
        if (bias) Tensors.Add(new($"{prefix}{name}.bias", [dim], TensorFill.Zeros));
        return this;
    }

    /// <summary>An <c>nn.Linear</c>: weight [out, in], optional bias [out].</summary>
    public LayoutBuilder Linear(string name, long outFeatures, long inFeatures, bool bias)
    {
        Tensors.Add(new($"{prefix}{name}.weight", [outFeatures, inFeatures]));
        if (bias) Tensors.Add(new($"{prefix}{name}.bias", [outFeatures], TensorFill.Zeros));
        return this;
    }

    /// <summary>GPT-2's Conv1D: weight [in, out], bias [out].</summary>
    public LayoutBuilder Conv1D(string name, long inFeatures, long outFeatures)
    {
        Tensors.Add(new($"{prefix}{name}.weight", [inFeatures, outFeatures]));
        Tensors.Add(new($"{prefix}{name}.bias", [outFeatures], TensorFill.Zeros));
        return this;
    }

    /// <summary>A single matrix (an embedding table, a bias-free projection).</summary>
    public LayoutBuilder Matrix(string name, long rows, long cols)
    {
        Tensors.Add(new($"{prefix}{name}", [rows, cols]));
        return this;
    }
}
