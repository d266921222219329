using Microsoft.Win32.SafeHandles;
using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// The locks a unit holds while it runs: its own exclusively (one writer per unit, whichever run or Slurm task) and
/// each upstream unit shared (nobody rewrites an input while it is read). They are taken all at once, in one global
/// order (by lock file path), so runs that want overlapping sets wait for each other but never deadlock. Lock files
/// are <c>cache/.locks/&lt;sha256 of the unit id&gt;.lock</c>; flock(2) drops them when the holder dies.
/// </summary>
public sealed class UnitLock : IDisposable
{
    public const string Folder = ".locks";

    private readonly List<SafeFileHandle> handles;

    private UnitLock(List<SafeFileHandle> handles) => this.handles = handles;

    public static string PathFor(string cacheDir, StageUnit unit) =>
        Path.Combine(cacheDir, Folder, Hashing.Sha256(unit.Id)[..24] + ".lock");

    /// <summary>
    /// Takes <paramref name="unit"/>'s lock exclusively and its <paramref name="upstream"/> units' shared, waiting for
    /// other holders (and saying once on <paramref name="log"/> whom it waits for).
    /// </summary>
    public static UnitLock Acquire(string cacheDir, StageUnit unit, IEnumerable<StageUnit> upstream, TextWriter log)
    {
        var wanted = new SortedDictionary<string, (StageUnit Unit, LockMode Mode)>(StringComparer.Ordinal);
        foreach (var u in upstream) wanted[PathFor(cacheDir, u)] = (u, LockMode.Shared);
        wanted[PathFor(cacheDir, unit)] = (unit, LockMode.Exclusive);
        return Take(cacheDir, unit, wanted, log);
    }

    /// <summary>
    /// Takes every one of <paramref name="units"/>' locks shared: a reader (the archive) that no run may rewrite a
    /// unit under, while other readers and the units' upstream readers go on.
    /// </summary>
    public static UnitLock AcquireForReading(string cacheDir, IReadOnlyCollection<StageUnit> units, TextWriter log)
    {
        var wanted = new SortedDictionary<string, (StageUnit Unit, LockMode Mode)>(StringComparer.Ordinal);
        foreach (var u in units) wanted[PathFor(cacheDir, u)] = (u, LockMode.Shared);
        return Take(cacheDir, null, wanted, log);
    }

    private static UnitLock Take(string cacheDir, StageUnit? unit, SortedDictionary<string, (StageUnit Unit, LockMode Mode)> wanted, TextWriter log)
    {
        Directory.CreateDirectory(Path.Combine(cacheDir, Folder));
        var held = new List<SafeFileHandle>();
        try
        {
            foreach (var (path, (owner, mode)) in wanted)
            {
                var handle = Flock.Open(path);
                held.Add(handle);
                var told = false;
                while (!Flock.TryLock(handle, path, mode))
                {
                    if (!told) log.WriteLine(unit is null
                        ? $"{owner.Stage} {owner.Key}: waiting for another run that is building it …"
                        : $"{unit.Stage} {unit.Key}: waiting for another run that is {(owner == unit ? "building this unit" : "using " + owner.Id)} …");
                    told = true;
                    Thread.Sleep(100);
                }
            }
        }
        catch
        {
            foreach (var h in held) h.Dispose();
            throw;
        }
        return new UnitLock(held);
    }

    public void Dispose()
    {
        foreach (var h in handles) h.Dispose(); // closing a descriptor drops its flock
        handles.Clear();
    }
}
