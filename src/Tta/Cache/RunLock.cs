using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// The run lock, <c>cache/.lock</c>: an flock(2) lock held from the start of a run to its end, so nothing (Clean,
/// another run) slips in between its stages. A process that runs the stages as child processes (Cake) takes it once
/// and names it in <see cref="HeldVariable"/>; a child whose ancestor holds it works under that lock instead of
/// waiting for it, so no child asks for it again in another mode. Runs and archives take it
/// <see cref="LockMode.Shared"/> (units lock themselves, <see cref="UnitLock"/>); Clean takes it exclusive. The kernel
/// drops an flock when its holder dies, so a killed run leaves no stale lock.
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>Environment variable that tells child processes the lock is held: <c>mode:pid:path</c>.</summary>
    public const string HeldVariable = "TTA_RUN_LOCK";
    public const string FileName = ".lock";

    // Locks this process holds, by path: a nested Acquire (archive after building, clean inside a run) reuses them.
    private static readonly Dictionary<string, (RunLock Owner, int Count)> Held = new(StringComparer.Ordinal);

    private readonly SafeFileHandle? handle;
    private readonly string environmentValue;
    private bool disposed;

    private RunLock(string path, LockMode mode, SafeFileHandle? handle, string environmentValue)
    {
        LockPath = path;
        Mode = mode;
        this.handle = handle;
        this.environmentValue = environmentValue;
    }

    public string LockPath { get; }
    public LockMode Mode { get; }

    /// <summary>True when an ancestor process holds the lock and this one works under it.</summary>
    public bool Inherited => handle is null;

    /// <summary>The value of <see cref="HeldVariable"/> for child processes that work under this lock.</summary>
    public string EnvironmentValue => environmentValue;

    public static string PathIn(string cacheDir) => System.IO.Path.Combine(System.IO.Path.GetFullPath(cacheDir), FileName);

    /// <summary>
    /// Takes the lock of <paramref name="cacheDir"/> (creating the folder, marked as tta's, if needed), waiting up to
    /// <paramref name="wait"/> (null: as long as it takes) for another holder, and saying so once on
    /// <paramref name="log"/>.
    /// </summary>
    public static RunLock Acquire(string cacheDir, LockMode mode, TimeSpan? wait, TextWriter log)
    {
        OwnedFolder.Ensure(cacheDir);
        var path = PathIn(cacheDir);
        lock (Held)
        {
            if (Held.TryGetValue(path, out var mine) && Covers(mine.Owner.Mode, mode))
            {
                Held[path] = (mine.Owner, mine.Count + 1);
                return mine.Owner;
            }
        }
        if (InheritedFromAncestor(path, mode) is { } inherited) return inherited;

        var s = Flock.Open(path);
        try
        {
            var deadline = wait is { } w ? DateTime.UtcNow + w : DateTime.MaxValue;
            var told = false;
            while (!Flock.TryLock(s, path, mode))
            {
                if (DateTime.UtcNow >= deadline)
                    throw new IOException($"{path} is held by another tta run{Holders(s)}; wait for it to finish (or stop it) and run again");
                if (!told) log.WriteLine($"waiting for another tta run{Holders(s)} that holds {path} …");
                told = true;
                Thread.Sleep(200);
            }
        }
        catch
        {
            s.Dispose();
            throw;
        }
        var value = $"{(mode == LockMode.Exclusive ? "exclusive" : "shared")}:{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}:{path}";
        var created = new RunLock(path, mode, s, value);
        lock (Held) Held[path] = (created, 1);
        return created;
    }

    public void Dispose()
    {
        lock (Held)
        {
            if (disposed) return;
            if (Held.TryGetValue(LockPath, out var mine) && ReferenceEquals(mine.Owner, this))
            {
                if (mine.Count > 1)
                {
                    Held[LockPath] = (this, mine.Count - 1);
                    return;
                }
                Held.Remove(LockPath);
            }
            disposed = true;
        }
        handle?.Dispose(); // closing the descriptor drops the flock
    }

    private static bool Covers(LockMode held, LockMode wanted) => held == LockMode.Exclusive || wanted == LockMode.Shared;

    /// <summary>
    /// The lock named in <see cref="HeldVariable"/>, when it is this cache's, strong enough, held by an ancestor
    /// process, and really held (a stale variable of a finished run does not count).
    /// </summary>
    private static RunLock? InheritedFromAncestor(string path, LockMode mode)
    {
        var value = Environment.GetEnvironmentVariable(HeldVariable);
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split(':', 3);
        if (parts.Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return null;
        var held = parts[0] == "exclusive" ? LockMode.Exclusive : parts[0] == "shared" ? LockMode.Shared : (LockMode?)null;
        if (held is not { } heldMode || parts[2] != path || !Covers(heldMode, mode) || !IsAncestor(pid)) return null;
        // Someone holds it when an exclusive try on a descriptor of our own fails.
        using (var probe = Flock.Open(path))
            if (Flock.TryLock(probe, path, LockMode.Exclusive)) return null;
        return new RunLock(path, heldMode, null, value);
    }

    /// <summary>Whether <paramref name="pid"/> is this process's parent, grandparent, … (read from /proc).</summary>
    private static bool IsAncestor(int pid)
    {
        var current = Environment.ProcessId;
        for (var hops = 0; hops < 64 && current > 1; hops++)
        {
            current = ParentOf(current);
            if (current == pid) return true;
        }
        return false;
    }

    internal static int ParentOf(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>
    /// " (pid N)" naming the processes that hold the lock now, as the kernel lists them in /proc/locks (never a pid
    /// recorded by an earlier holder that may be long gone); "" when the kernel does not say.
    /// </summary>
    private static string Holders(SafeFileHandle s)
    {
        var pids = LockHolders(s);
        return pids.Count switch
        {
            0 => "",
            1 => $" (pid {pids[0].ToString(CultureInfo.InvariantCulture)})",
            _ => $" (pids {string.Join(", ", pids.Select(p => p.ToString(CultureInfo.InvariantCulture)))})",
        };
    }

    /// <summary>
    /// The processes holding an flock on the file open as <paramref name="s"/>: the file's device and inode (from
    /// /proc/self/fdinfo and /proc/self/mountinfo) matched against the granted entries of /proc/locks.
    /// </summary>
    internal static IReadOnlyList<int> LockHolders(SafeFileHandle s)
    {
        try
        {
            var fd = ((int)s.DangerousGetHandle()).ToString(CultureInfo.InvariantCulture);
            var info = File.ReadAllLines($"/proc/self/fdinfo/{fd}").Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
            if (!info.TryGetValue("ino", out var inode) || !info.TryGetValue("mnt_id", out var mount)) return [];
            // mountinfo: "ID PARENT MAJOR:MINOR …" (decimal); /proc/locks: "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE …" (hex device).
            var device = File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).FirstOrDefault(f => f.Length > 2 && f[0] == mount)?[2].Split(':');
            if (device is not [var major, var minor]) return [];
            var wanted = (int.Parse(major, CultureInfo.InvariantCulture), int.Parse(minor, CultureInfo.InvariantCulture), inode);
            var pids = new List<int>();
            foreach (var line in File.ReadLines("/proc/locks"))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 6 || f[1] != "FLOCK") continue; // "->" marks a waiter, not a holder
                var id = f[5].Split(':');
                if (id.Length != 3 || !int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0) continue;
                if ((int.Parse(id[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), int.Parse(id[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), id[2]) == wanted
                    && !pids.Contains(pid))
                    pids.Add(pid);
            }
            return pids;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return [];
        }
    }
}
