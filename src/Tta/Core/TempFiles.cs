using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Tta.Core;

/// <summary>
/// Leftover temporary files (<c>.tmp-NAME-PID-GUID</c>, see <see cref="AtomicFile.TempPathFor"/>) of processes that
/// died before they could remove them (killed, out of power). They are never trusted as outputs; a run removes them
/// at its start, so they do not eat the space of a disk that is already short. Files of live writers are kept.
/// </summary>
public static partial class TempFiles
{
    [GeneratedRegex(@"^\.tmp-.+-(\d+)-[0-9a-f]{32}$")]
    private static partial Regex TempName();

    /// <summary>Removes the stale temporary files under <paramref name="dirs"/>; returns the paths removed.</summary>
    public static IReadOnlyList<string> RemoveStale(IEnumerable<string> dirs, TextWriter? log = null)
    {
        var removed = new List<string>();
        foreach (var dir in dirs.Where(Directory.Exists))
        {
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(dir, ".tmp-*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 }).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var file in files)
            {
                var m = TempName().Match(Path.GetFileName(file));
                if (!m.Success || !int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
                if (WriterMayBeAlive(pid, file)) continue;
                try
                {
                    File.Delete(file);
                    removed.Add(file);
                    log?.WriteLine($"removed {file}: a temporary file left by process {pid}, which has ended");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
        return removed;
    }

    /// <summary>
    /// True while process <paramref name="pid"/> exists and started before the file was last written (a process
    /// that started later only reuses the number).
    /// </summary>
    private static bool WriterMayBeAlive(int pid, string file)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            return p.StartTime.ToUniversalTime() <= File.GetLastWriteTimeUtc(file).AddSeconds(1);
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return true; // cannot tell: keep the file
        }
    }
}
