using Tta.Config;
using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// Everything a run needs: where to read and write, which experiments, how to report, and the objects its units
/// share within one process (loaded models, tokenizers), which it owns and disposes. A running unit gets a view of
/// it (<see cref="ForUnit"/>) that shares all of this and adds the unit's own <see cref="UnitProgress"/>.
/// </summary>
public sealed class RunContext(Workspace workspace, IReadOnlyList<Experiment> experiments, TextWriter log) : IDisposable
{
    private readonly Dictionary<string, Lazy<object>> shared = new(StringComparer.Ordinal);
    private readonly bool ownsShared = true;

    private RunContext(RunContext run, IUnitProgress progress, bool torchForWholeRun) : this(run.Workspace, run.Experiments, run.Log)
    {
        shared = run.shared;
        ownsShared = false;
        MemoryLimitBytes = run.MemoryLimitBytes;
        Progress = run.Progress;
        HashLog = run.HashLog;
        Jobs = run.Jobs;
        Torch = run.Torch;
        UnitProgress = progress;
        TorchForWholeRun = torchForWholeRun;
    }

    public Workspace Workspace { get; } = workspace;
    public IReadOnlyList<Experiment> Experiments { get; } = experiments;
    /// <summary>The run's log, safe to write from units running side by side.</summary>
    public TextWriter Log { get; } = TextWriter.Synchronized(log);

    /// <summary>Memory to treat as available when deciding whether a model fits (--memory-limit); null = what the OS says.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Shows the running units' progress (the CLI's; an executor makes a plain one on <see cref="Log"/> if null).</summary>
    public IProgressDisplay? Progress { get; init; }

    /// <summary>Where the running unit reports its progress (<see cref="ForUnit"/>); null outside a unit.</summary>
    public IUnitProgress? UnitProgress { get; private init; }

    /// <summary>Where hashes of files are reported (<c>--explain</c>), or null.</summary>
    public IHashLog? HashLog { get; init; }

    /// <summary>The cores to keep busy (--jobs; all by default): figures within a unit drawn at once, and the units in flight (<see cref="UnitSlots"/>).</summary>
    public int Jobs { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Units a local run keeps in flight: <see cref="Jobs"/>, and one more when that is more than one. A short libtorch
    /// unit waits between its steps for its OpenMP threads to wake, and with exactly one unit per core those waits left
    /// the cores idle; the extra unit computes in them (src/Tta/Execution/README.md, "One machine").
    /// </summary>
    public int UnitSlots => Jobs > 1 ? Jobs + 1 : 1;

    private TorchGate? torch;

    /// <summary>This process's libtorch gate, shared by every unit of the run (<see cref="TorchGate"/>), <see cref="UnitSlots"/> wide.</summary>
    public TorchGate Torch
    {
        get => LazyInitializer.EnsureInitialized(ref torch, () => new TorchGate(UnitSlots));
        private init => torch = value;
    }

    /// <summary>
    /// Whether <see cref="StageRunner"/> holds <see cref="Torch"/> around the unit's whole <c>Run</c>: a libtorch unit
    /// that does not enter it itself (<see cref="UnitResources.TorchSections"/>).
    /// </summary>
    public bool TorchForWholeRun { get; private init; }

    /// <summary>
    /// The context one unit runs in: this run's, reporting to <paramref name="progress"/>, with the libtorch gate held
    /// around its whole run where <paramref name="torchForWholeRun"/>.
    /// </summary>
    public RunContext ForUnit(IUnitProgress progress, bool torchForWholeRun = false) => new(this, progress, torchForWholeRun);

    /// <summary>
    /// The object kept under <paramref name="key"/>, created on first use — once, also when several units ask at the
    /// same time (the others wait for it).
    /// </summary>
    public T Keep<T>(string key, Func<T> create) where T : notnull
    {
        Lazy<object> entry;
        lock (shared)
            if (!shared.TryGetValue(key, out entry!))
                shared[key] = entry = new Lazy<object>(() => create(), LazyThreadSafetyMode.ExecutionAndPublication);
        try
        {
            return (T)entry.Value;
        }
        catch
        {
            lock (shared) shared.Remove(key); // a failed load is not kept: the next unit may try again
            throw;
        }
    }

    /// <summary>Disposes and forgets the object kept under <paramref name="key"/> (no unit of this run needs it any more).</summary>
    public void Release(string key)
    {
        Lazy<object>? entry;
        lock (shared)
            if (shared.Remove(key, out entry) is false) return;
        if (entry.IsValueCreated && entry.Value is IDisposable d) d.Dispose();
    }

    /// <summary>Disposes what the run kept; a unit's view (<see cref="ForUnit"/>) owns nothing and disposes nothing.</summary>
    public void Dispose()
    {
        if (!ownsShared) return;
        List<Lazy<object>> entries;
        lock (shared)
        {
            entries = [.. shared.Values];
            shared.Clear();
        }
        foreach (var e in entries.Where(e => e.IsValueCreated))
            if (e.Value is IDisposable d) d.Dispose();
        Progress?.Dispose();
    }
}
