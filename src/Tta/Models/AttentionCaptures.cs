namespace Tta.Models;

/// <summary>What the attention decomposition reads of a model's forward pass, so Extract can store it beside the activations.</summary>
public static class AttentionCaptures
{
    /// <summary>
    /// Capture filter: what the decomposition reads of the given blocks — scores, probabilities and what the
    /// architecture's query·key term needs (<see cref="IArchitecture.QueryKeyKinds"/>; those outside any block, such as
    /// rotary tables, whatever the blocks).
    /// </summary>
    public static Func<CapturePoint, bool> Filter(IArchitecture architecture, IReadOnlyCollection<int> layers) => point =>
        (point.Kind is CaptureKind.AttentionScores or CaptureKind.AttentionProbs || architecture.QueryKeyKinds.Contains(point.Kind))
        && (point.Layer < 0 || layers.Contains(point.Layer));
}
