namespace Tta.Metrics.LogitLens;

/// <summary>
/// The logit lens of one hidden state: per position the <see cref="K"/> most probable tokens, most probable first
/// ([positions, k] row-major), and the rank (0 = top) and probability of the next token where one follows (else null).
/// </summary>
public sealed record LogitLensResult(int Positions, int K, long[] Ids, float[] Probabilities, long?[] NextIds, int?[] NextRanks,
    float?[] NextProbabilities);
