using System.Diagnostics;

namespace Tta.Cache;

/// <summary>
/// A process's libtorch gate: one thread at a time computes with libtorch, so two forward passes (or tensor sums)
/// never share libtorch's intra-op pool and the bytes do not depend on <c>--jobs</c> (see
/// <see cref="UnitResources.Torch"/>). A unit enters it around its libtorch work only
/// (<see cref="UnitResources.TorchSections"/>), or the executor holds it for the unit's whole run; either way what a
/// unit does outside it (reading, Parquet writing, hashing, manifests) overlaps another unit's libtorch work.
/// Re-entrant on one thread; a section must end on the thread that entered it (no <c>await</c> inside).
/// </summary>
public sealed class TorchGate
{
    private readonly object held = new();

    /// <summary>Told the start and end (<see cref="Stopwatch"/> timestamps) of each outermost section, or null.</summary>
    public Action<long, long>? Observer { get; set; }

    /// <summary>Waits for the gate and holds it until the section is disposed.</summary>
    public IDisposable Enter()
    {
        var outermost = !Monitor.IsEntered(held);
        Monitor.Enter(held);
        return new Section(this, outermost ? Stopwatch.GetTimestamp() : 0);
    }

    private sealed class Section(TorchGate gate, long start) : IDisposable
    {
        private bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            if (start != 0) gate.Observer?.Invoke(start, Stopwatch.GetTimestamp());
            Monitor.Exit(gate.held);
        }
    }
}
