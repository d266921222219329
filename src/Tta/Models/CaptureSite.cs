namespace Tta.Models;

/// <summary>
/// Where a model records: a module path in one stack and block. Models pass it down their module tree so that each
/// call site names only its own part (<c>at.Child("mlp").Module</c>, <c>at.Part("scores", CaptureKind.AttentionScores)</c>)
/// and every <see cref="CapturePoint"/> is made with the right stack, block and kind.
/// </summary>
public readonly record struct CaptureSite(string Stack, int Layer, string Path, bool Cross = false)
{
    /// <summary>A model's root: no block, no path yet.</summary>
    public static CaptureSite Root(string stack) => new(stack, -1, "");

    /// <summary>The child module <paramref name="name"/> (a dotted name adds several levels).</summary>
    public CaptureSite Child(string name) => this with { Path = Path.Length == 0 ? name : Path + "." + name };

    /// <summary>Block <paramref name="layer"/> of a module list: <c>transformer.h</c> → <c>transformer.h.3</c> in block 3.</summary>
    public CaptureSite Block(int layer) => Child(layer.ToString(System.Globalization.CultureInfo.InvariantCulture)) with { Layer = layer };

    /// <summary>A cross-attention module: decoder queries over encoder keys.</summary>
    public CaptureSite AsCross() => this with { Cross = true };

    /// <summary>This module's output.</summary>
    public CapturePoint Module => new(Path, Path, Stack, Layer, CaptureKind.Module, Cross: Cross);

    /// <summary>The output of child module <paramref name="name"/>.</summary>
    public CapturePoint Of(string name) => Child(name).Module;

    /// <summary>Item <paramref name="index"/> of the tuple this module returns (<c>path#1</c>).</summary>
    public CapturePoint Item(int index) =>
        new($"{Path}#{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}", Path, Stack, Layer, CaptureKind.Module, Cross: Cross);

    /// <summary>
    /// A quantity of this module named <c>PATH.name</c> with a role: an attention module's projections, scores,
    /// probabilities and position bias; its <see cref="CapturePoint.Path"/> is this module.
    /// </summary>
    public CapturePoint Part(string name, CaptureKind kind) => new($"{Path}.{name}", Path, Stack, Layer, kind, Cross: Cross);
}
