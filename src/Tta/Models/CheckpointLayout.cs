using System.Globalization;

namespace Tta.Models;

/// <summary>
/// The tensors a checkpoint of one architecture and config holds, as the model's own description: tensors that occur
/// once, and block templates repeated per layer. The parameter count comes from the templates (so a config of 10⁸
/// layers is counted without listing them); <see cref="Expand"/> lists every tensor in module order (what a
/// synthetic checkpoint writes).
/// </summary>
public sealed record CheckpointLayout(IReadOnlyList<TensorSpec> Once, IReadOnlyList<CheckpointLayout.Repeated> Blocks,
    IReadOnlyList<TensorSpec>? After = null)
{
    /// <summary>A block template (names with <c>{i}</c>) repeated <paramref name="Count"/> times.</summary>
    public sealed record Repeated(int Count, IReadOnlyList<TensorSpec> Template);

    public double ParameterCount => Once.Concat(After ?? []).Sum(t => t.Elements) + Blocks.Sum(b => b.Count * b.Template.Sum(t => t.Elements));

    /// <summary>Every tensor with its real name, in module order: the leading single tensors, the blocks, then <see cref="After"/>.</summary>
    public IEnumerable<TensorSpec> Expand()
    {
        foreach (var t in Once) yield return t;
        foreach (var b in Blocks)
            for (var i = 0; i < b.Count; i++)
                foreach (var t in b.Template)
                    yield return t with { Name = t.Name.Replace("{i}", i.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal) };
        foreach (var t in After ?? []) yield return t;
    }
}
