using Tta.Models;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Metrics.Projection;

/// <summary>
/// Principal component analysis of token trajectories (the explorer's trajectory view and the <c>projection</c> figure
/// kind). The fit streams the store one block at a time: per series it accumulates the sum and the Gram matrix XᵀX
/// (float64, [dim, dim]) and takes the two leading eigenvectors of the covariance XᵀX/n − μμᵀ. Each component's sign
/// is fixed so that its largest-magnitude entry is positive (scikit-learn's convention), so the projection is
/// reproducible. A series with fewer than two distinct directions gets zero components where none is left.
/// </summary>
public static class TrajectoryProjection
{
    public const string Measure = "pca";

    private sealed class Accumulator(string stack, int dim) : IDisposable
    {
        public string Stack { get; } = stack;
        public int Dim { get; } = dim;
        public long Rows { get; set; }
        public Tensor Sum { get; } = zeros([dim], ScalarType.Float64);
        public Tensor Gram { get; } = zeros([dim, dim], ScalarType.Float64);

        public void Dispose()
        {
            Sum.Dispose();
            Gram.Dispose();
        }
    }

    /// <summary>Fits one projection per hidden-state series of the store at <paramref name="path"/>.</summary>
    public static async Task<IReadOnlyList<ProjectionFit>> FitAsync(string path)
    {
        await using var store = await VectorStoreReader.OpenAsync(path);
        var points = store.Points;
        var accumulators = new SortedDictionary<string, Accumulator>(StringComparer.Ordinal);
        try
        {
            await store.ForEachBlockAsync(block =>
            {
                Accumulate(accumulators, block, points);
                return Task.CompletedTask;
            });
            return [.. accumulators.Select(kv => Finish(kv.Key, kv.Value))];
        }
        finally
        {
            foreach (var a in accumulators.Values) a.Dispose();
        }
    }

    /// <summary>Fits from blocks in memory (tests, small stores); same result as <see cref="FitAsync"/>.</summary>
    public static IReadOnlyList<ProjectionFit> Fit(IEnumerable<VectorBlock> blocks, StoredPoints points)
    {
        var accumulators = new SortedDictionary<string, Accumulator>(StringComparer.Ordinal);
        try
        {
            foreach (var block in blocks) Accumulate(accumulators, block, points);
            return [.. accumulators.Select(kv => Finish(kv.Key, kv.Value))];
        }
        finally
        {
            foreach (var a in accumulators.Values) a.Dispose();
        }
    }

    private static void Accumulate(SortedDictionary<string, Accumulator> accumulators, VectorBlock block, StoredPoints points)
    {
        if (points.HiddenStateSeries(block.Key) is not { } series) return;
        if (!accumulators.TryGetValue(series, out var acc))
            accumulators[series] = acc = new Accumulator(block.Key.Stack, block.Dim);
        if (acc.Dim != block.Dim)
            throw new InvalidDataException($"{block.Key.Point}: {block.Dim} features, but {series} has {acc.Dim}");
        using var scope = NewDisposeScope();
        var x = tensor(block.Values, [block.Positions, block.Dim]).to(ScalarType.Float64);
        acc.Sum.AddInPlace(x.sum(0L)); // 0L: a literal 0 would bind to the sum(ScalarType) overload
        acc.Gram.AddInPlace(x.t().matmul(x));
        acc.Rows += block.Positions;
    }

    private static ProjectionFit Finish(string series, Accumulator acc)
    {
        using var scope = NewDisposeScope();
        var mean = acc.Sum.Div(acc.Rows);
        var cov = acc.Gram.Div(acc.Rows).sub(mean.outer(mean));
        cov = cov.Add(cov.t()).Div(2.0); // exactly symmetric for eigh
        var (values, vectors) = linalg.eigh(cov); // ascending eigenvalues, eigenvectors in columns
        var lambdas = values.data<double>().ToArray();
        var dim = acc.Dim;
        var total = lambdas.Where(l => l > 0).Sum();
        var components = new double[2 * dim];
        var ratio = new double[2];
        var columns = vectors.t().contiguous().data<double>().ToArray(); // row k = eigenvector k
        for (var c = 0; c < 2 && c < dim; c++)
        {
            var k = dim - 1 - c;
            var lambda = lambdas[k];
            // Directions with no variance are no components: a constant or one-direction series keeps zeros there.
            if (!(lambda > 1e-12 * Math.Max(total, double.Epsilon))) continue;
            var v = columns.AsSpan(k * dim, dim);
            var largest = 0;
            for (var d = 1; d < dim; d++)
                if (Math.Abs(v[d]) > Math.Abs(v[largest])) largest = d;
            var sign = v[largest] < 0 ? -1.0 : 1.0;
            for (var d = 0; d < dim; d++) components[c * dim + d] = sign * v[d];
            ratio[c] = total > 0 ? lambda / total : 0;
        }
        return new ProjectionFit(series, acc.Stack, checked((int)acc.Rows), dim, mean.data<double>().ToArray(), components, ratio);
    }
}
