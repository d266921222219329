using Parquet;
using Parquet.Schema;
using Tta.Cache;
using Tta.Extract;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Nearest;

/// <summary>
/// Nearest-vocabulary decoding (the original used faiss IndexFlatIP / IndexFlatL2 over the input embedding matrix):
/// for every vector, the k embedding rows with the largest inner product and the k with the smallest squared L2
/// distance. Exhaustive search in row chunks × vocabulary chunks (float32 matmuls, ‖x−e‖² = ‖x‖² − 2x·e + ‖e‖²), so
/// memory stays bounded for long texts and large vocabularies; the reported scores of the chosen entries are then
/// recomputed exactly in float64. Ties go to the lower id.
/// </summary>
public static class NearestTokens
{
    public static readonly IReadOnlyList<string> Measures = ["ip", "l2"];

    /// <summary>The input embedding matrix [vocab, dim] of a checkpoint (where its architecture keeps it), in float32.</summary>
    public static Tensor LoadEmbeddings(Checkpoint checkpoint)
    {
        var names = ModelFactory.For(checkpoint.Config, checkpoint.Directory).InputEmbeddingKeys;
        var name = names.FirstOrDefault(checkpoint.Contains)
            ?? throw new InvalidDataException($"{checkpoint.Directory}: no input embedding matrix ({string.Join(", ", names)})");
        return checkpoint.Load(name, ScalarType.Float32);
    }

    public const int RowChunk = 256, VocabChunk = 16384;

    /// <summary>
    /// <paramref name="vectors"/> row-major [rows, dim]; <paramref name="embeddings"/> [vocab, dim].
    /// <paramref name="measure"/> <c>ip</c> (largest inner product first) or <c>l2</c> (smallest squared distance first).
    /// </summary>
    public static NearestResult Search(ReadOnlyMemory<float> vectors, int rows, int dim, Tensor embeddings, int k, string measure,
        int rowChunk = RowChunk, int vocabChunk = VocabChunk)
    {
        if (measure is not ("ip" or "l2")) throw new ArgumentException($"unknown nearest measure '{measure}' (ip, l2)");
        var vocab = embeddings.shape[0];
        if (embeddings.shape[1] != dim) throw new ArgumentException($"vectors have {dim} features, embeddings {embeddings.shape[1]}");
        k = (int)Math.Min(k, vocab);
        var ids = new long[rows * k];
        var scores = new double[rows * k];
        var l2 = measure == "l2";
        using var outer = NewDisposeScope();
        var e = embeddings.to(ScalarType.Float32);
        var eNorms = l2 ? e.Squared().sum(1) : null; // [vocab]
        for (var r0 = 0; r0 < rows; r0 += rowChunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(rowChunk, rows - r0);
            var x = tensor(vectors.Slice(r0 * dim, n * dim).ToArray(), [n, dim]);
            var xNorms = l2 ? x.Squared().sum(1, keepdim: true) : null;
            Tensor? bestScore = null, bestId = null;
            for (long v0 = 0; v0 < vocab; v0 += vocabChunk)
            {
                var m = Math.Min(vocabChunk, vocab - v0);
                var dot = x.matmul(e.narrow(0, v0, m).t()); // [n, m]
                // Ranking key: larger is better for both measures.
                var key = l2 ? (xNorms! - dot.Mul(2L)).Add(eNorms!.narrow(0, v0, m).unsqueeze(0)).neg() : dot;
                var (s, i) = key.topk((int)Math.Min(k, m), dim: 1, largest: true, sorted: true);
                i = i.Add(v0);
                if (bestScore is null) (bestScore, bestId) = (s, i);
                else
                {
                    var allS = cat([bestScore, s], 1);
                    var allI = cat([bestId!, i], 1);
                    var (s2, pick) = allS.topk((int)Math.Min(k, allS.shape[1]), dim: 1, largest: true, sorted: true);
                    (bestScore, bestId) = (s2, allI.gather(1, pick));
                }
            }
            // Exact float64 scores of the chosen entries, then a stable order (score, then id).
            var chosen = bestId!;
            var ev = e.index_select(0, chosen.flatten()).view(n, k, dim).to(ScalarType.Float64);
            var xv = x.to(ScalarType.Float64).unsqueeze(1);
            var exact = l2 ? (xv - ev).Squared().sum(2) : (xv * ev).sum(2);
            var idArr = chosen.contiguous().data<long>().ToArray();
            var scArr = exact.contiguous().data<double>().ToArray();
            for (var row = 0; row < n; row++)
            {
                var order = Enumerable.Range(0, k)
                    .OrderBy(j => l2 ? scArr[row * k + j] : -scArr[row * k + j])
                    .ThenBy(j => idArr[row * k + j]).ToArray();
                for (var j = 0; j < k; j++)
                {
                    ids[(r0 + row) * k + j] = idArr[row * k + order[j]];
                    scores[(r0 + row) * k + j] = scArr[row * k + order[j]];
                }
            }
        }
        return new NearestResult(rows, k, ids, scores);
    }
}
