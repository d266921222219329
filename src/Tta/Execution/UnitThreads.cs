using System.Collections.Concurrent;

namespace Tta.Execution;

/// <summary>
/// The local executor's long-lived threads: its unit threads (one per unit in flight) and its commit threads each run
/// one piece of work at a time. Not the
/// thread pool: a unit blocks (on its async Parquet I/O, on locks), and blocked pool threads starve the
/// pool that I/O completions, timers and figure workers need. Not a new thread per unit either: libgomp keeps a team
/// of OpenMP threads per thread that calls libtorch, so new threads would build new teams for every unit.
/// </summary>
internal sealed class UnitThreads : IDisposable
{
    private readonly BlockingCollection<Action> queue = [];
    private readonly List<Thread> threads;

    /// <param name="name">the threads' name (numbered), as ps and perf show them</param>
    public UnitThreads(int count, string name)
    {
        threads = [.. Enumerable.Range(0, Math.Max(1, count)).Select(i => new Thread(() =>
        {
            foreach (var work in queue.GetConsumingEnumerable()) work();
        }) { IsBackground = true, Name = $"{name} {i + 1}" })];
        foreach (var t in threads) t.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the next free thread (it reports its own end; it must not throw).</summary>
    public void Run(Action work) => queue.Add(work);

    public void Dispose()
    {
        queue.CompleteAdding();
        foreach (var t in threads) t.Join();
        queue.Dispose();
    }
}
