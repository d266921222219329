using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Statistics;

/// <summary>
/// Rows of float64 feature vectors buffered in a libtorch tensor, so that sums and Gram products (XᵀX, XᵀY) are
/// accumulated with one float64 matrix product per batch instead of one rank-one update per row. Each batch is
/// shifted by a fixed vector, the mean of the first batch: covariances are unchanged by a shift, and centring
/// Σxxᵀ − n μμᵀ on data whose mean is already near zero avoids the cancellation that large mean components (the
/// outlier dimensions of many transformers) would cause. Memory: <c>capacity × columns</c> doubles.
/// </summary>
internal sealed unsafe class ShiftedRowBuffer : IDisposable
{
    private readonly Tensor buffer;
    private readonly double* data;
    private Tensor? shift;

    public ShiftedRowBuffer(int columns, int capacity)
    {
        if (columns <= 0) throw new ArgumentOutOfRangeException(nameof(columns), columns, "must be positive");
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "must be positive");
        Columns = columns;
        Capacity = capacity;
        buffer = zeros([capacity, columns], ScalarType.Float64);
        data = (double*)NativeTensor.DataPointer(buffer);
        Sum = zeros([columns], ScalarType.Float64);
    }

    public int Columns { get; }
    public int Capacity { get; }

    /// <summary>Rows waiting in the buffer.</summary>
    public int Pending { get; private set; }

    /// <summary>Rows flushed so far.</summary>
    public long Flushed { get; private set; }

    /// <summary>Σ (x − shift) over the flushed rows, [columns].</summary>
    public Tensor Sum { get; }

    /// <summary>The shift (the first batch's mean, [columns]); null before the first flush.</summary>
    public Tensor? Shift => shift;

    public bool Full => Pending == Capacity;

    /// <summary>Copies <paramref name="values"/> (length <see cref="Columns"/>) into the next free row, at column 0.</summary>
    public void Append(ReadOnlySpan<float> values) => AppendAt(values, 0, last: true);

    /// <summary>
    /// Copies <paramref name="values"/> into the next free row at <paramref name="column"/>; the row is complete when
    /// <paramref name="last"/> is set (used to lay several layers side by side in one row).
    /// </summary>
    public void AppendAt(ReadOnlySpan<float> values, int column, bool last)
    {
        if (Full) throw new InvalidOperationException("the row buffer is full; flush it first");
        if (column + values.Length > Columns) throw new ArgumentException($"{values.Length} values at column {column} exceed {Columns} columns");
        var row = new Span<double>(data + (long)Pending * Columns + column, values.Length);
        for (var i = 0; i < values.Length; i++) row[i] = values[i];
        if (last) Pending++;
    }

    /// <summary>
    /// The pending rows as a shifted [rows, columns] float64 tensor (a view of the buffer, valid until the next
    /// append; the caller disposes it), added to <see cref="Sum"/>; null when no row is pending. The caller accumulates its products from it.
    /// </summary>
    public Tensor? TakeBatch()
    {
        if (Pending == 0) return null;
        var batch = buffer.narrow(0, 0, Pending);
        shift ??= batch.mean([0L]).DetachFromDisposeScope(); // it outlives the caller's scope
        batch.sub_(shift);
        using (var sum = batch.sum([0L])) Sum.AddInPlace(sum);
        Flushed += Pending;
        Pending = 0;
        return batch;
    }

    public void Dispose()
    {
        buffer.Dispose();
        Sum.Dispose();
        shift?.Dispose();
    }
}
