using Tta.Models;

namespace Tta.Explorer;

/// <summary>
/// The order in which the explorer (and its figure gallery) walks a model: encoder before decoder, and within a stack
/// by depth — what is recorded before the blocks (embeddings), then hidden state 0…N (the figures' layer 0…N) — with module
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
}
