using System.Globalization;
using Tta.Models;

namespace Tta.Explorer;

/// <summary>
/// The order in which the explorer (and its figure gallery) walks a model: encoder before decoder, and within a stack
/// by depth — what is recorded before the blocks (embeddings), then layer 0…N, then the final output — with module
/// capture points of block b between the input and the output of that block.
/// </summary>
public static class Depth
{
    public static int StackOrder(string stack) => stack switch
    {
        "encoder" => 0,
        "decoder" => 1,
        "decoder-only" => 2,
        _ => 3,
    };

    /// <summary>
    /// Sort key within a stack: hidden state N → 2N, a point in block b → 2b+1, a point outside the blocks −1 when
    /// the model records it before them (<paramref name="beforeBlocks"/>: embeddings), else last.
    /// </summary>
    public static double Within(CapturePoint point, bool beforeBlocks) =>
        point.Kind == CaptureKind.HiddenState ? 2.0 * point.Layer : OfBlock(point.Layer, beforeBlocks);

    /// <summary>Sort key of something in block <paramref name="layer"/> (−1: none; first or last as <paramref name="beforeBlocks"/> says).</summary>
    public static double OfBlock(int layer, bool beforeBlocks = false) =>
        layer >= 0 ? 2.0 * layer + 1 : beforeBlocks ? -1 : double.MaxValue;

    /// <summary>
    /// What a point is, for captions: hidden state 0 = "embeddings", N = "layer N−1" (the output of block N−1), the last
    /// = "final" when every hidden state from 0 up to it is stored (<paramref name="lastContiguous"/>); else its name.
    /// </summary>
    public static string Describe(CapturePoint point, int? lastContiguous)
    {
        if (point.Kind != CaptureKind.HiddenState) return point.Name;
        var n = point.Layer;
        if (n == 0) return "embeddings";
        if (n == lastContiguous) return "final";
        return "layer " + (n - 1).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The last hidden-state index N such that 0…N are all among <paramref name="indices"/>, or null.</summary>
    public static int? LastContiguous(IEnumerable<int> indices)
    {
        var set = indices.ToHashSet();
        if (!set.Contains(0)) return null;
        var n = 0;
        while (set.Contains(n + 1)) n++;
        return n == set.Max() && n > 0 ? n : null;
    }
}
