using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.LogitLens;

/// <summary>
/// The logit lens of one stored hidden state: the model's head (<see cref="ILanguageModelHead.LogitLens"/>: its final
/// norm unless the state already went through it, then its unembedding), a float32 softmax over the whole vocabulary,
/// the top k and the next token's rank and probability. Positions go in chunks, so memory holds
/// <see cref="PositionChunk"/> × vocabulary probabilities whatever the text's length.
/// </summary>
public static class LogitLensMath
{
    public const int PositionChunk = 64;

    /// <summary>
    /// <paramref name="values"/> row-major [positions, dim] (a block of the activation store); <paramref name="next"/>
    /// the token each position predicts (null: none), <see cref="IArchitecture.NextTokens"/>.
    /// </summary>
    public static LogitLensResult Compute(ILanguageModelHead head, CapturePoint point, ReadOnlyMemory<float> values, int positions,
        int dim, IReadOnlyList<long?> next, int k, int positionChunk = PositionChunk)
    {
        if (next.Count != positions)
            throw new ArgumentException($"{point.Name}: {positions} positions, but {next.Count} next tokens");
        var ids = new long[positions * k];
        var probabilities = new float[positions * k];
        var (nextRanks, nextProbabilities) = (new int?[positions], new float?[positions]);
        using var noGrad = no_grad();
        for (var p0 = 0; p0 < positions; p0 += positionChunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(positionChunk, positions - p0);
            var state = tensor(values.Slice(p0 * dim, n * dim).ToArray(), [n, dim]);
            var probs = head.LogitLens(state, point).softmax(-1).cpu(); // [n, vocab], float32
            if (k > probs.shape[1]) throw new ArgumentException($"{point.Name}: k {k} is more than the vocabulary's {probs.shape[1]} tokens");
            var (topP, topI) = probs.topk(k, dim: 1, largest: true, sorted: true);
            topI.contiguous().data<long>().CopyTo(ids, p0 * k);
            topP.contiguous().data<float>().CopyTo(probabilities, p0 * k);
            for (var row = 0; row < n; row++)
            {
                if (next[p0 + row] is not { } id) continue;
                var p = probs[row];
                var pNext = p[id];
                nextProbabilities[p0 + row] = pNext.item<float>();
                nextRanks[p0 + row] = (int)p.gt(pNext).sum().item<long>();
            }
        }
        return new LogitLensResult(positions, k, ids, probabilities, [.. next], nextRanks, nextProbabilities);
    }
}
