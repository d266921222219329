using Tta.Metrics.Statistics;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Cka;

/// <summary>
/// Linear CKA (Kornblith et al. 2019, "Similarity of Neural Network Representations Revisited") between every layer i
/// of model A and every layer j of model B, streamed over the rows (tokens or words) of a corpus:
/// CKA(Xᵢ, Yⱼ) = ‖Ỹⱼᵀ X̃ᵢ‖_F² / (‖X̃ᵢᵀ X̃ᵢ‖_F ‖Ỹⱼᵀ Ỹⱼ‖_F), X̃, Ỹ the column-centred n × d matrices. Only feature-space
/// products are kept, in float64: Σx, Σy and, per batch of rows, one matrix product of all of A's layers side by
/// side with all of B's (Σ x yᵀ, [ΣdA, ΣdB]) plus each layer's own Σ x xᵀ; centring is Σ x yᵀ − n μx μyᵀ at the end,
/// on rows shifted by the first batch's mean (see <see cref="ShiftedRowBuffer"/>). This equals the n × n Gram-matrix
/// (HSIC) form tr(K H L H) / √(tr(K H K H) tr(L H L H)), K = XXᵀ, L = YYᵀ, H = I − 11ᵀ/n, with memory independent of n.
/// <para>
/// Memory: (ΣdA)(ΣdB) + Σ dA² + Σ dB² doubles (<see cref="BytesFor"/>), plus the row buffers. To bound it, give an
/// accumulator a subset of A's layers and make several passes over the corpus, one per subset
/// (<see cref="PlanPasses"/>). <see cref="Within"/> compares a model's layers with each other: one product of the
/// layers side by side with themselves, [ΣD, ΣD], whose diagonal blocks are the self products; the result is symmetric.
/// </para>
/// </summary>
public sealed class LinearCka : IDisposable
{
    public const int DefaultBufferRows = 1024;

    private readonly int[] offsetsA;
    private readonly int[] offsetsB;
    private readonly ShiftedRowBuffer rowsA;
    private readonly ShiftedRowBuffer? rowsB;
    private readonly Tensor cross;
    private readonly Tensor[] selfA;
    private readonly Tensor[] selfB;

    /// <summary>Layers of model A (widths <paramref name="dimsA"/>) against layers of model B (<paramref name="dimsB"/>).</summary>
    public LinearCka(IReadOnlyList<int> dimsA, IReadOnlyList<int> dimsB, int bufferRows = DefaultBufferRows)
        : this(dimsA, dimsB, within: false, bufferRows)
    {
    }

    private LinearCka(IReadOnlyList<int> dimsA, IReadOnlyList<int> dimsB, bool within, int bufferRows)
    {
        if (dimsA.Count == 0 || dimsB.Count == 0) throw new ArgumentException("each side needs at least one layer");
        if (dimsA.Concat(dimsB).Any(d => d <= 0)) throw new ArgumentException("layer widths must be positive");
        DimsA = [.. dimsA];
        DimsB = [.. dimsB];
        IsWithin = within;
        offsetsA = Offsets(DimsA);
        offsetsB = Offsets(DimsB);
        rowsA = new ShiftedRowBuffer(offsetsA[^1], bufferRows);
        rowsB = within ? null : new ShiftedRowBuffer(offsetsB[^1], bufferRows);
        cross = zeros([offsetsA[^1], offsetsB[^1]], ScalarType.Float64);
        selfA = within ? [] : [.. DimsA.Select(d => zeros([d, d], ScalarType.Float64))];
        selfB = within ? [] : [.. DimsB.Select(d => zeros([d, d], ScalarType.Float64))];
    }

    /// <summary>One model's layers (widths <paramref name="dims"/>) against each other: a symmetric layer × layer result.</summary>
    public static LinearCka Within(IReadOnlyList<int> dims, int bufferRows = DefaultBufferRows) =>
        new(dims, dims, within: true, bufferRows);

    public IReadOnlyList<int> DimsA { get; }
    public IReadOnlyList<int> DimsB { get; }

    /// <summary>True for <see cref="Within"/>: B is A, and <see cref="Add(int, IReadOnlyList{float[]})"/> takes one side.</summary>
    public bool IsWithin { get; }

    /// <summary>Rows added so far.</summary>
    public long Rows => rowsA.Flushed + rowsA.Pending;

    /// <summary>The float64 products' bytes for these widths (<paramref name="dimsB"/> null: <see cref="Within"/>).</summary>
    public static long BytesFor(IReadOnlyList<int> dimsA, IReadOnlyList<int>? dimsB)
    {
        long a = dimsA.Sum(), squares = dimsA.Sum(d => (long)d * d);
        if (dimsB is null) return 8 * a * a;
        long b = dimsB.Sum();
        return 8 * (a * b + squares + dimsB.Sum(d => (long)d * d));
    }

    /// <summary>
    /// Splits A's layers into consecutive ranges (first index, count) whose accumulators each fit in
    /// <paramref name="maxBytes"/> (<see cref="BytesFor"/>; at least one layer per range), for one pass over the
    /// corpus per range with <c>new LinearCka(dimsA[range], dimsB)</c>.
    /// </summary>
    public static IReadOnlyList<(int First, int Count)> PlanPasses(IReadOnlyList<int> dimsA, IReadOnlyList<int> dimsB, long maxBytes)
    {
        var passes = new List<(int, int)>();
        var first = 0;
        while (first < dimsA.Count)
        {
            var count = 1;
            while (first + count < dimsA.Count && BytesFor([.. dimsA.Skip(first).Take(count + 1)], dimsB) <= maxBytes) count++;
            passes.Add((first, count));
            first += count;
        }
        return passes;
    }

    /// <summary>
    /// Adds <paramref name="rows"/> aligned rows: per layer of A a row-major rows × dimA array, and the same rows of B.
    /// </summary>
    public void Add(int rows, IReadOnlyList<float[]> layersOfA, IReadOnlyList<float[]> layersOfB)
    {
        if (IsWithin) throw new InvalidOperationException("a Within accumulator takes one side: Add(rows, layers)");
        Check(rows, layersOfA, DimsA, "A");
        Check(rows, layersOfB, DimsB, "B");
        for (var r = 0; r < rows; r++)
        {
            if (rowsA.Full) Flush();
            AppendRow(rowsA, r, layersOfA, DimsA, offsetsA);
            AppendRow(rowsB!, r, layersOfB, DimsB, offsetsB);
        }
    }

    /// <summary>Adds <paramref name="rows"/> rows of one model's layers (<see cref="Within"/> only).</summary>
    public void Add(int rows, IReadOnlyList<float[]> layers)
    {
        if (!IsWithin) throw new InvalidOperationException("this accumulator compares two models: Add(rows, layersOfA, layersOfB)");
        Check(rows, layers, DimsA, "A");
        for (var r = 0; r < rows; r++)
        {
            if (rowsA.Full) Flush();
            AppendRow(rowsA, r, layers, DimsA, offsetsA);
        }
    }

    /// <summary>
    /// CKA[i, j] between layer i of A and layer j of B over every row added so far (may be called again after more
    /// rows). NaN where a layer is constant over the rows (its centred product is zero).
    /// </summary>
    public double[,] Result()
    {
        Flush();
        var result = new double[DimsA.Count, DimsB.Count];
        if (Rows == 0)
        {
            for (var i = 0; i < DimsA.Count; i++)
                for (var j = 0; j < DimsB.Count; j++) result[i, j] = double.NaN;
            return result;
        }
        using var scope = NewDisposeScope();
        var n = (double)rowsA.Flushed;
        var sumB = IsWithin ? rowsA.Sum : rowsB!.Sum;
        // Centred products: Σ (x−c)(y−c')ᵀ − (Σ(x−c))(Σ(y−c'))ᵀ / n.
        var centred = cross.sub(rowsA.Sum.outer(sumB).Div(n));
        var normsA = new double[DimsA.Count];
        var normsB = new double[DimsB.Count];
        for (var i = 0; i < DimsA.Count; i++)
            normsA[i] = IsWithin ? Frobenius(Block(centred, offsetsA, offsetsA, i, i)) : Frobenius(Centred(selfA[i], rowsA.Sum, offsetsA, i, n));
        for (var j = 0; j < DimsB.Count; j++)
            normsB[j] = IsWithin ? normsA[j] : Frobenius(Centred(selfB[j], sumB, offsetsB, j, n));
        for (var i = 0; i < DimsA.Count; i++)
        {
            for (var j = 0; j < DimsB.Count; j++)
            {
                if (IsWithin && j < i)
                {
                    result[i, j] = result[j, i];
                    continue;
                }
                var crossNorm = Frobenius(Block(centred, offsetsA, offsetsB, i, j));
                var denominator = normsA[i] * normsB[j];
                result[i, j] = denominator > 0 ? crossNorm * crossNorm / denominator : double.NaN;
            }
        }
        return result;
    }

    private static Tensor Block(Tensor m, int[] rowOffsets, int[] columnOffsets, int i, int j) =>
        m.narrow(0, rowOffsets[i], rowOffsets[i + 1] - rowOffsets[i]).narrow(1, columnOffsets[j], columnOffsets[j + 1] - columnOffsets[j]);

    private static Tensor Centred(Tensor self, Tensor sum, int[] offsets, int i, double n)
    {
        var s = sum.narrow(0, offsets[i], offsets[i + 1] - offsets[i]);
        return self.sub(s.outer(s).Div(n));
    }

    private static double Frobenius(Tensor m) => Math.Sqrt(m.Squared().sum().item<double>());

    private void Flush()
    {
        using var scope = NewDisposeScope();
        var x = rowsA.TakeBatch();
        if (x is null) return;
        if (IsWithin)
        {
            cross.addmm_(x.t(), x);
            return;
        }
        var y = rowsB!.TakeBatch()!;
        cross.addmm_(x.t(), y);
        for (var i = 0; i < selfA.Length; i++) AddSelf(selfA[i], x, offsetsA, i);
        for (var j = 0; j < selfB.Length; j++) AddSelf(selfB[j], y, offsetsB, j);
    }

    private static void AddSelf(Tensor self, Tensor batch, int[] offsets, int i)
    {
        var part = batch.narrow(1, offsets[i], offsets[i + 1] - offsets[i]);
        self.addmm_(part.t(), part);
    }

    private static void AppendRow(ShiftedRowBuffer buffer, int row, IReadOnlyList<float[]> layers, IReadOnlyList<int> dims, int[] offsets)
    {
        for (var l = 0; l < layers.Count; l++)
            buffer.AppendAt(layers[l].AsSpan(row * dims[l], dims[l]), offsets[l], last: l == layers.Count - 1);
    }

    private static void Check(int rows, IReadOnlyList<float[]> layers, IReadOnlyList<int> dims, string side)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (layers.Count != dims.Count) throw new ArgumentException($"model {side}: {layers.Count} layers given, {dims.Count} expected");
        for (var l = 0; l < layers.Count; l++)
            if (layers[l].Length != (long)rows * dims[l])
                throw new ArgumentException($"model {side}, layer {l}: {layers[l].Length} values for {rows}x{dims[l]}");
    }

    private static int[] Offsets(IReadOnlyList<int> dims)
    {
        var offsets = new int[dims.Count + 1];
        for (var i = 0; i < dims.Count; i++) offsets[i + 1] = offsets[i] + dims[i];
        return offsets;
    }

    public void Dispose()
    {
        rowsA.Dispose();
        rowsB?.Dispose();
        cross.Dispose();
        foreach (var t in selfA) t.Dispose();
        foreach (var t in selfB) t.Dispose();
    }
}
