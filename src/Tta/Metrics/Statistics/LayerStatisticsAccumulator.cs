using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Statistics;

/// <summary>
/// Streams one layer's token vectors, text after text, into the corpus-level statistics of Ethayarajh (2019, "How
/// Contextual are Contextualized Word Representations?") and Cai et al. (2021, "Isotropy in the Contextual Embedding
/// Space"). Memory does not grow with the corpus: a few vectors of <c>dim</c> doubles, the <c>dim × dim</c> float64
/// second-moment matrix, a row buffer of <c>bufferRows × dim</c> doubles, and <c>typeCount × dim</c> doubles for
/// self-similarity. Every sum is float64.
/// <para>
/// The cosine statistics are computed exactly from sums of unit vectors û = x/‖x‖, since the sum of the cosines over a
/// set of pairs is a dot product of sums: with S = Σ û over all tokens, s_t = Σ û over text t, n tokens, n_t in text t,
/// <list type="bullet">
/// <item>anisotropy = (‖S‖² − Σ_t ‖s_t‖²) / (n² − Σ_t n_t²), the mean cosine over all ordered pairs of tokens of
/// different texts. Ethayarajh estimates this quantity from randomly sampled pairs; here it is exact, with no sample
/// and no seed;</item>
/// <item>intra-text similarity = mean over texts with n_t ≥ 2 of (‖s_t‖² − n_t) / (n_t (n_t − 1)), each text's mean
/// cosine over its ordered pairs of distinct tokens;</item>
/// <item>self-similarity = mean over word types w with n_w ≥ k (k ≥ 2) of (‖s_w‖² − n_w) / (n_w (n_w − 1)), s_w the sum
/// of the unit vectors of w's occurrences.</item>
/// </list>
/// A zero vector has no direction, so it is left out of these three (and of n, n_t, n_w); it still counts in the mean
/// norm and the covariance. Effective dimensionality is the participation ratio of the covariance spectrum,
/// (Σλ)²/Σλ² = tr(C)² / ‖C‖_F², with C the population covariance of all token vectors (no eigendecomposition needed).
/// </para>
/// </summary>
public sealed class LayerStatisticsAccumulator : IDisposable
{
    /// <summary>Rows buffered before each float64 Gram update (one matrix product per batch).</summary>
    public const int DefaultBufferRows = 2048;

    private readonly double[] unitSum;
    private readonly double[] textUnitSum;
    private readonly double[]? typeUnitSums;
    private readonly long[] typeCounts;
    private readonly ShiftedRowBuffer rows;
    private readonly Tensor secondMoment;
    private long tokens;
    private long zeroVectors;
    private long unitTokens;
    private double textSquaredNorms;
    private double textSquaredCounts;
    private double intraSum;
    private int intraTexts;
    private int texts;
    private double normSum;

    /// <param name="dim">The layer's width.</param>
    /// <param name="typeCount">Word types for self-similarity, numbered 0…typeCount−1 (0: none).</param>
    /// <param name="bufferRows">Rows per float64 Gram update.</param>
    public LayerStatisticsAccumulator(int dim, int typeCount = 0, int bufferRows = DefaultBufferRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(typeCount);
        Dim = dim;
        TypeCount = typeCount;
        rows = new ShiftedRowBuffer(dim, bufferRows);
        secondMoment = zeros([dim, dim], ScalarType.Float64);
        unitSum = new double[dim];
        textUnitSum = new double[dim];
        typeUnitSums = typeCount > 0 ? new double[(long)typeCount * dim] : null;
        typeCounts = new long[typeCount];
    }

    public int Dim { get; }
    public int TypeCount { get; }

    /// <summary>Adds one text's token vectors at this layer (row-major <paramref name="rowCount"/> × <paramref name="cols"/>).</summary>
    public void AddText(ReadOnlySpan<float> values, int rowCount, int cols)
    {
        if (cols != Dim) throw new ArgumentException($"{cols} columns, but the layer has {Dim}");
        if (values.Length != (long)rowCount * cols) throw new ArgumentException($"{values.Length} values for {rowCount}x{cols}");
        Array.Clear(textUnitSum);
        long textTokens = 0;
        for (var r = 0; r < rowCount; r++)
        {
            var x = values.Slice(r * cols, cols);
            var norm = Math.Sqrt(SquaredNorm(x));
            normSum += norm;
            tokens++;
            if (rows.Full) Flush();
            rows.Append(x);
            if (norm == 0)
            {
                zeroVectors++;
                continue;
            }
            AddUnit(textUnitSum, x, norm);
            textTokens++;
        }
        texts++;
        var squared = 0.0;
        for (var i = 0; i < Dim; i++)
        {
            unitSum[i] += textUnitSum[i];
            squared += textUnitSum[i] * textUnitSum[i];
        }
        unitTokens += textTokens;
        textSquaredNorms += squared;
        textSquaredCounts += (double)textTokens * textTokens;
        if (textTokens >= 2)
        {
            intraSum += MeanPairCosine(squared, textTokens);
            intraTexts++;
        }
    }

    /// <summary>
    /// Adds one occurrence of word type <paramref name="type"/> (the caller pools sub-tokens into one vector and chooses
    /// which types take part). A zero vector is ignored.
    /// </summary>
    public void AddOccurrence(int type, ReadOnlySpan<float> vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(type);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(type, TypeCount);
        if (vector.Length != Dim) throw new ArgumentException($"{vector.Length} values, but the layer has {Dim}");
        var norm = Math.Sqrt(SquaredNorm(vector));
        if (norm == 0) return;
        AddUnit(typeUnitSums.AsSpan((int)((long)type * Dim), Dim), vector, norm);
        typeCounts[type]++;
    }

    /// <summary>
    /// The statistics of everything added so far (may be called again after more is added). Self-similarity is over
    /// the types with at least <paramref name="minOccurrences"/> (≥ 2) non-zero occurrences.
    /// </summary>
    public LayerStatistics Result(int minOccurrences = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minOccurrences, 2);
        var total = 0.0;
        for (var i = 0; i < Dim; i++) total += unitSum[i] * unitSum[i];
        var n = (double)unitTokens;
        var pairs = n * n - textSquaredCounts;
        var anisotropy = pairs > 0 ? (total - textSquaredNorms) / pairs : double.NaN;

        var selfSum = 0.0;
        var selfTypes = 0;
        for (var w = 0; w < TypeCount; w++)
        {
            if (typeCounts[w] < minOccurrences) continue;
            var s = typeUnitSums.AsSpan((int)((long)w * Dim), Dim);
            var squared = 0.0;
            foreach (var v in s) squared += v * v;
            selfSum += MeanPairCosine(squared, typeCounts[w]);
            selfTypes++;
        }

        return new LayerStatistics(
            Tokens: tokens,
            Texts: texts,
            ZeroVectors: zeroVectors,
            Anisotropy: anisotropy,
            IntraTextSimilarity: intraTexts > 0 ? intraSum / intraTexts : double.NaN,
            IntraTextTexts: intraTexts,
            SelfSimilarity: selfTypes > 0 ? selfSum / selfTypes : double.NaN,
            SelfSimilarityTypes: selfTypes,
            MeanNorm: tokens > 0 ? normSum / tokens : double.NaN,
            EffectiveDimensionality: EffectiveDimensionality());
    }

    /// <summary>tr(C)² / ‖C‖_F² for C = Σ(x−c)(x−c)ᵀ/n − m mᵀ, m = Σ(x−c)/n (c the buffer's shift).</summary>
    private double EffectiveDimensionality()
    {
        Flush();
        if (rows.Flushed == 0) return double.NaN;
        using var scope = NewDisposeScope();
        var n = (double)rows.Flushed;
        var mean = rows.Sum.Div(n);
        var covariance = secondMoment.Div(n).sub(mean.outer(mean));
        var trace = covariance.trace().item<double>();
        var frobenius = covariance.Squared().sum().item<double>();
        return frobenius > 0 ? trace * trace / frobenius : double.NaN;
    }

    private void Flush()
    {
        using var batch = rows.TakeBatch();
        if (batch is null) return;
        using var transposed = batch.t();
        secondMoment.addmm_(transposed, batch);
    }

    /// <summary>Mean cosine over the ordered pairs of distinct members, from the squared norm of their unit-vector sum.</summary>
    private static double MeanPairCosine(double squaredSum, long count) => (squaredSum - count) / ((double)count * (count - 1));

    private static double SquaredNorm(ReadOnlySpan<float> x)
    {
        var s = 0.0;
        foreach (var v in x) s += (double)v * v;
        return s;
    }

    private static void AddUnit(Span<double> sum, ReadOnlySpan<float> x, double norm)
    {
        for (var i = 0; i < x.Length; i++) sum[i] += x[i] / norm;
    }

    public void Dispose()
    {
        rows.Dispose();
        secondMoment.Dispose();
    }
}
