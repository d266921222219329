namespace Tta.Metrics.Attention;

/// <summary>The four attention heatmap panels of the paper.</summary>
public enum AttentionPanel
{
    /// <summary>Raw query-key products.</summary>
    QueryKey,

    /// <summary>The additive position bias (e.g. T5 relative attention bias).</summary>
    PositionBias,

    /// <summary>Q.Kᵀ plus position bias (and mask): the pre-softmax scores.</summary>
    Combined,

    /// <summary>Softmax of the combined scores.</summary>
    Softmax,
}
