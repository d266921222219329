namespace Tta.Cache;

/// <summary>
/// An exclusive lock on the cache directory, held while a stage writes, so two runs never interleave writes to one
/// cache. It is an OS file lock (released when the process dies), so a killed run leaves no stale lock.
/// </summary>
public sealed class CacheLock : IDisposable
{
    private readonly FileStream stream;

    private CacheLock(FileStream stream) => this.stream = stream;

    public static CacheLock Acquire(string cacheDir, TimeSpan wait, TextWriter log)
    {
        Directory.CreateDirectory(cacheDir);
        var path = Path.Combine(cacheDir, ".lock");
        var deadline = DateTime.UtcNow + wait;
        var told = false;
        while (true)
        {
            try
            {
                var s = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                s.SetLength(0);
                var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
                s.Write(pid);
                s.Flush();
                return new CacheLock(s);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                if (!told) log.WriteLine($"waiting for another tta run that holds {path} …");
                told = true;
                Thread.Sleep(200);
            }
            catch (IOException e)
            {
                throw new IOException($"{path} is held by another tta run; wait for it to finish (or stop it) and run again", e);
            }
        }
    }

    public void Dispose() => stream.Dispose();
}
