namespace Tta.Metrics.Statistics;

/// <summary>
/// Corpus-level statistics of one layer's token vectors (see <see cref="LayerStatisticsAccumulator"/> for the exact
/// definitions). A statistic that is undefined for the input (too few texts, tokens or occurrences) is NaN.
/// </summary>
/// <param name="Tokens">Token vectors added (zero vectors included).</param>
/// <param name="Texts">Texts added.</param>
/// <param name="ZeroVectors">Token vectors that were exactly zero: counted in <paramref name="MeanNorm"/> and the
/// covariance, left out of every cosine statistic (a zero vector has no direction).</param>
/// <param name="Anisotropy">Mean cosine over all ordered pairs of token vectors from different texts (exact).</param>
/// <param name="IntraTextSimilarity">Mean over texts with at least two tokens of the text's mean off-diagonal cosine.</param>
/// <param name="IntraTextTexts">The texts that mean is over.</param>
/// <param name="SelfSimilarity">Mean over word types with at least the minimum number of occurrences of the mean
/// pairwise cosine of their occurrences.</param>
/// <param name="SelfSimilarityTypes">The word types that mean is over.</param>
/// <param name="MeanNorm">Mean L2 norm over all token vectors.</param>
/// <param name="EffectiveDimensionality">Participation ratio (Σλ)²/Σλ² of the token vectors' covariance spectrum.</param>
public sealed record LayerStatistics(
    long Tokens,
    int Texts,
    long ZeroVectors,
    double Anisotropy,
    double IntraTextSimilarity,
    int IntraTextTexts,
    double SelfSimilarity,
    int SelfSimilarityTypes,
    double MeanNorm,
    double EffectiveDimensionality);
