using System.Diagnostics;

namespace Tta.Cache;

/// <summary>
/// A process's libtorch gate: at most <c>slots</c> threads compute with libtorch at once (the units in flight,
/// <see cref="RunContext.UnitSlots"/>;
/// see <see cref="UnitResources.Torch"/> for why their bytes do not depend on it). A unit enters it around its
/// libtorch work only (<see cref="UnitResources.TorchSections"/>), or the executor holds it for the unit's whole run,
/// so the run's profile (<c>TTA_RUN_PROFILE</c>) can tell libtorch's share of the time from the rest.
/// Re-entrant on one thread; a section must end on the thread that entered it (no <c>await</c> inside).
/// </summary>
public sealed class TorchGate(int slots)
{
    private readonly SemaphoreSlim free = new(Math.Max(1, slots));
    [ThreadStatic] private static int depth; // sections this thread holds (one process has one gate)

    /// <summary>Told the start and end (<see cref="Stopwatch"/> timestamps) of each outermost section, or null.</summary>
    public Action<long, long>? Observer { get; set; }

    /// <summary>Waits for the gate and holds it until the section is disposed.</summary>
    public IDisposable Enter()
    {
        var outermost = depth++ == 0;
        if (outermost) free.Wait();
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
            if (--depth == 0) gate.free.Release();
        }
    }
}
