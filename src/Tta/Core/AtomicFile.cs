namespace Tta.Core;

/// <summary>
/// Writes files so that a reader never sees a partial one: data goes to a temporary sibling, is flushed to disk,
/// and only then renamed over the final name (rename is atomic within a directory on POSIX file systems). Inside a
/// <see cref="DeferredFlush"/> (a unit being built) the flush is left to it, done before the unit's manifest.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>. <paramref name="bufferSize"/>: the stream's
    /// buffer (0: none, for callers that write in large pieces or all at once — a 1 MB buffer per small file is
    /// allocated for nothing).
    /// </summary>
    public static void Write(string path, Action<Stream> write, int bufferSize = 1 << 20)
    {
        var temp = Begin(path);
        FileStream? stream = null;
        try
        {
            stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize);
            write(stream);
            if (!DeferredFlush.Defer(path)) stream.Flush(flushToDisk: true);
            stream.Dispose();
            stream = null;
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            Abandon(stream, temp);
            throw;
        }
    }

    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        var temp = Begin(path);
        FileStream? stream = null;
        try
        {
            stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: false);
            await write(stream);
            if (!DeferredFlush.Defer(path)) stream.Flush(flushToDisk: true);
            await stream.DisposeAsync();
            stream = null;
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            Abandon(stream, temp);
            throw;
        }
    }

    /// <summary>
    /// Gets rid of a temporary file after a failure: the name goes first (POSIX lets an open file be unlinked), then
    /// the stream is closed, ignoring what closing throws — on a full disk the close's own flush fails again, and that
    /// must not keep the file.
    /// </summary>
    public static void Abandon(Stream? stream, string temp)
    {
        TryDelete(temp);
        try { stream?.Dispose(); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        catch (ObjectDisposedException) { }
        TryDelete(temp);
    }

    private static string Begin(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        return TempPathFor(path);
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)), bufferSize: 0);

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy), bufferSize: 0);
    }

    /// <summary>
    /// Temporary names start with ".tmp-" and carry the writer's process id and host, so scans skip them and a later
    /// run can remove those of processes of its own host that died (<see cref="TempFiles"/>).
    /// </summary>
    public static string TempPathFor(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
            $".tmp-{System.IO.Path.GetFileName(path)}-{Environment.ProcessId}@{TempFiles.ThisHost}-{Guid.NewGuid():N}");

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
