using System.Globalization;
using System.Text.RegularExpressions;

namespace Tta.Explorer;

/// <summary>
/// The order in which the explorer (and its figure gallery) walks a model: encoder before decoder, and within a stack
/// by depth — embeddings, then layer 0…N, then the final output — with module capture points of block b between the
/// input and the output of that block.
/// </summary>
public static partial class Depth
{
    [GeneratedRegex(@"hidden_states\.(\d+)$")]
    private static partial Regex HiddenStateRx();

    public static int StackOrder(string stack) => stack switch
    {
        "encoder" => 0,
        "decoder" => 1,
        "decoder-only" => 2,
        _ => 3,
    };

    /// <summary>Sort key within a stack: hidden_states.N → 2N, a module of block b → 2b+1, embeddings modules first, others last.</summary>
    public static double Within(string point, int layer)
    {
        var m = HiddenStateRx().Match(point);
        if (m.Success) return 2.0 * int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        if (layer >= 0) return 2.0 * layer + 1;
        return point.Contains("emb", StringComparison.OrdinalIgnoreCase) ? -1 : double.MaxValue;
    }

    /// <summary>The hidden-state index of a point (<c>encoder_hidden_states.4</c> → 4), or null.</summary>
    public static int? HiddenStateIndex(string point)
    {
        var m = HiddenStateRx().Match(point);
        return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>
    /// What a point is, for captions: hidden state 0 = "embeddings", N = "layer N−1" (the output of block N−1), the last
    /// = "final" when every hidden state from 0 up to it is stored (<paramref name="lastContiguous"/>); else the point.
    /// </summary>
    public static string Describe(string point, int? lastContiguous)
    {
        if (HiddenStateIndex(point) is not { } n) return point;
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
