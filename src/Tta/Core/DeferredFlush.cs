namespace Tta.Core;

/// <summary>
/// Lets a unit's files reach the disk after the unit is computed, not while it computes. Inside <see cref="Begin"/>,
/// <see cref="AtomicFile"/> and the Parquet writer rename a complete temporary file into place without waiting for the
/// disk (fsync) and note its name here; <see cref="FlushAll"/> then flushes every noted file. The cache writes a
/// unit's manifest only after that (Cache/StageRunner), so a manifest never reaches the disk before the files it
/// vouches for, as before; readers on this machine see complete files either way (the rename is atomic).
/// Why: a corpus study's units are 10–30 ms each and wrote two files each; waiting for the disk inside the unit
/// left a core idle for each wait (src/Tta.Bench/README.md, "Busy cores").
/// </summary>
public sealed class DeferredFlush : IDisposable
{
    private static readonly AsyncLocal<DeferredFlush?> Current = new();
    private readonly object gate = new();
    private readonly List<string> files = [];
    private readonly DeferredFlush? outer;
    private bool ended;

    private DeferredFlush(DeferredFlush? outer) => this.outer = outer;

    /// <summary>
    /// From now on, on this thread and the tasks and threads it starts, files are flushed by <see cref="FlushAll"/>,
    /// not as they are written. Dispose ends that (files written after it are flushed as they are written again).
    /// </summary>
    public static DeferredFlush Begin()
    {
        var deferral = new DeferredFlush(Current.Value);
        Current.Value = deferral;
        return deferral;
    }

    /// <summary>
    /// Called by writers with a complete file under its final name: true when a deferral will flush it (noted); false
    /// when the writer must flush it itself.
    /// </summary>
    public static bool Defer(string path)
    {
        var deferral = Current.Value;
        if (deferral is null) return false;
        lock (deferral.gate)
        {
            if (deferral.ended) return false;
            deferral.files.Add(path);
        }
        return true;
    }

    /// <summary>The files noted so far, in the order they were written.</summary>
    public IReadOnlyList<string> Files
    {
        get { lock (gate) return [.. files]; }
    }

    /// <summary>
    /// Flushes every noted file to disk (fsync), in the order written. A file removed or replaced since is skipped or
    /// flushed as it is now: only the files that are there can be vouched for. Call after <see cref="Dispose"/>.
    /// </summary>
    public void FlushAll()
    {
        foreach (var path in Files.Distinct(StringComparer.Ordinal)) ToDisk(path);
    }

    /// <summary>Flushes one file's data to disk (fsync through a handle of its own); a missing file is skipped.</summary>
    public static void ToDisk(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0); }
        catch (FileNotFoundException) { return; }
        catch (DirectoryNotFoundException) { return; }
        using (stream) stream.Flush(flushToDisk: true);
    }

    public void Dispose()
    {
        lock (gate) ended = true;
        // Only the innermost deferral is undone: one ended out of order leaves the current one in place.
        if (Current.Value == this) Current.Value = outer;
    }
}
