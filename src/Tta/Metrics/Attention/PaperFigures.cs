using Tta.Figures;

namespace Tta.Metrics.Attention;

/// <summary>
/// Figure specs with the paper's exact titles and axis labels: attention heatmaps (queries as rows, keys as columns,
/// cividis reversed by default) and the position bias kernel as a bar chart over relative key position.
/// </summary>
public static class PaperFigures
{
    public const string QueryKeyTitle = "Q.Kᵀ";
    public const string PositionBiasTitle = "Position Bias";
    public const string CombinedTitle = "Combined Attention Score";
    public const string SoftmaxTitle = "Final Attention Weights (after softmax)";
    public const string KernelTitle = "Position Bias Kernel";
    public const string KeyAxis = "Key Position";
    public const string QueryAxis = "Query Position";
    public const string RelativeKeyAxis = "Relative Key Position";
    public const string BiasAxis = "Bias";

    public static string Title(AttentionPanel panel) => panel switch
    {
        AttentionPanel.QueryKey => QueryKeyTitle,
        AttentionPanel.PositionBias => PositionBiasTitle,
        AttentionPanel.Combined => CombinedTitle,
        AttentionPanel.Softmax => SoftmaxTitle,
        _ => throw new ArgumentOutOfRangeException(nameof(panel)),
    };

    /// <summary>File-name part for a panel: qk, position-bias, combined, softmax.</summary>
    public static string Slug(AttentionPanel panel) => panel switch
    {
        AttentionPanel.QueryKey => "qk",
        AttentionPanel.PositionBias => "position-bias",
        AttentionPanel.Combined => "combined",
        AttentionPanel.Softmax => "softmax",
        _ => throw new ArgumentOutOfRangeException(nameof(panel)),
    };

    public static string ColorbarLabel(AttentionPanel panel) => panel switch
    {
        AttentionPanel.Softmax => "weight",
        AttentionPanel.PositionBias => "bias",
        _ => "score",
    };

    /// <summary>
    /// A panel heatmap of a <paramref name="queries"/> x <paramref name="keys"/> row-major matrix. Token lists (when
    /// given) label the axes (vertical on x). Masked entries (−∞, or the dtype's lowest value as a mask: see
    /// <see cref="MaskedValues"/>) are drawn in the masked colour and left out of the colour range.
    /// </summary>
    public static HeatmapSpec Attention(AttentionPanel panel, float[] values, int queries, int keys,
        IReadOnlyList<string>? queryTokens = null, IReadOnlyList<string>? keyTokens = null,
        string colormap = Colormaps.Default, int cellPixels = 12) =>
        new(values, queries, keys, Title(panel), KeyAxis, QueryAxis, keyTokens, queryTokens, colormap, cellPixels,
            ColorbarLabel(panel));

    /// <summary>Widest kernel data area (pixels) when the bar width is chosen automatically.</summary>
    public const int KernelMaxWidth = 960;

    /// <summary>
    /// The position bias kernel: bias value per relative key position (key − query). By default (0) bars are 12 pixels
    /// wide, narrower when there are many, so the data area is at most <see cref="KernelMaxWidth"/> wide, and it is a
    /// third as tall (200–320 pixels): a readable 3:1 chart rather than a 3000 × 300 strip.
    /// </summary>
    public static BarChartSpec Kernel(float[] bias, int[] relativePositions, int barPixels = 0, int plotHeight = 0)
    {
        ArgumentNullException.ThrowIfNull(relativePositions);
        var span = relativePositions.Length == 0 ? 1 : relativePositions.Max() - relativePositions.Min() + 1;
        if (barPixels <= 0) barPixels = Math.Clamp(KernelMaxWidth / span, 1, 12);
        if (plotHeight <= 0) plotHeight = Math.Clamp(span * barPixels / 3, 200, 320);
        return new(bias, relativePositions, KernelTitle, RelativeKeyAxis, BiasAxis, barPixels, plotHeight);
    }

    /// <summary>
    /// Reads the kernel off a <paramref name="queries"/> x <paramref name="keys"/> position-bias matrix: for each
    /// relative position d = key − query, the mean of the finite entries on that diagonal (a relative bias is constant
    /// along it). Diagonals with no finite entry are left out.
    /// </summary>
    public static (int[] RelativePositions, float[] Bias) KernelFromMatrix(float[] bias, int queries, int keys)
    {
        ArgumentNullException.ThrowIfNull(bias);
        if (queries <= 0 || keys <= 0 || (long)queries * keys != bias.Length)
            throw new ArgumentException($"bias matrix holds {bias.Length} entries, not {queries}x{keys}");
        var positions = new List<int>();
        var values = new List<float>();
        for (var d = -(queries - 1); d <= keys - 1; d++)
        {
            double sum = 0;
            var n = 0;
            for (var q = Math.Max(0, -d); q < queries && q + d < keys; q++)
            {
                var v = bias[q * keys + q + d];
                if (!float.IsFinite(v))
                    continue;
                sum += v;
                n++;
            }
            if (n == 0)
                continue;
            positions.Add(d);
            values.Add((float)(sum / n));
        }
        return ([.. positions], [.. values]);
    }
}
