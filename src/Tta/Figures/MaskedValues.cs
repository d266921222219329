namespace Tta.Figures;

/// <summary>
/// Which values of a score map are masks rather than scores, decided by value alone: −∞, or a value at most
/// <see cref="Threshold"/> for the dtype the model ran in. transformers masks attention by adding the dtype's lowest
/// finite value (<c>torch.finfo(dtype).min</c>: float32 −3.40e38, bfloat16 −3.39e38, float16 −65504); a score
/// added to it stays within half of it, while real scores, biases and similarities stay many orders of magnitude
/// away. So the threshold is half the dtype's lowest value, rounded: −1e38 for float32 and bfloat16, −32752 for
/// float16. NaN is not a mask (it is "no value") but is drawn in the same neutral colour.
/// </summary>
public static class MaskedValues
{
    /// <summary>Threshold for float32 and bfloat16 runs (and wherever the dtype is unknown).</summary>
    public const float DefaultThreshold = -1e38f;

    /// <summary>Threshold for float16 runs: half of float16's lowest finite value −65504.</summary>
    public const float Float16Threshold = -32752f;

    /// <summary>The threshold for the dtype a model computed in (<c>float32</c>, <c>bfloat16</c>, <c>float16</c>; the masks are that dtype's lowest value).</summary>
    public static float Threshold(string? dtype) =>
        string.Equals(dtype, "float16", StringComparison.OrdinalIgnoreCase) ? Float16Threshold : DefaultThreshold;

    /// <summary>Whether <paramref name="value"/> is a mask under <paramref name="threshold"/>.</summary>
    public static bool IsMasked(float value, float threshold) => value == float.NegativeInfinity || value <= threshold;
}
