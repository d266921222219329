using Tta.Config;

namespace Tta.Cache;

/// <summary>
/// Everything a run needs: where to read and write, which experiments, how to report, and the objects its units
/// share within one process (loaded models, tokenizers), which it owns and disposes.
/// </summary>
public sealed class RunContext(Workspace workspace, IReadOnlyList<Experiment> experiments, TextWriter log) : IDisposable
{
    private readonly Dictionary<string, Lazy<object>> shared = new(StringComparer.Ordinal);

    public Workspace Workspace { get; } = workspace;
    public IReadOnlyList<Experiment> Experiments { get; } = experiments;
    public TextWriter Log { get; } = log;

    /// <summary>Memory to treat as available when deciding whether a model fits (--memory-limit); null = what the OS says.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Shows the running units' progress (the CLI's; an executor makes a plain one on <see cref="Log"/> if null).</summary>
    public Execution.ProgressDisplay? Progress { get; init; }

    /// <summary>Units (and figures within a unit) that run at the same time (--jobs); all cores by default.</summary>
    public int Jobs { get; init; } = Environment.ProcessorCount;

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

    public void Dispose()
    {
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
