using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Tta.Core;

/// <summary>
/// Leftover temporary files (<c>.tmp-NAME-PID@HOST-GUID</c>, see <see cref="AtomicFile.TempPathFor"/>) of processes
/// that died before they could remove them (killed, out of power). They are never trusted as outputs; a run removes
/// them at its start, so they do not eat the space of a disk that is already short. Files of live writers are kept,
/// and so are those of other hosts: on a cluster's shared cache a process id says nothing about another node's
/// processes, so a Slurm task still writing there is never taken for a dead one (`tta-cli clean` removes them all).
/// Names without a host (written before hosts were recorded) count as this host's.
/// </summary>
public static partial class TempFiles
{
    [GeneratedRegex(@"^\.tmp-.+-(\d+)(?:@([A-Za-z0-9-]+))?-[0-9a-f]{32}$")]
    private static partial Regex TempName();

    /// <summary>This host's name as temporary names carry it: letters, digits and '-' only.</summary>
    public static string ThisHost { get; } = Sanitize(Environment.MachineName);

    private static string Sanitize(string host)
    {
        var name = new string([.. host.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        return name.Length > 0 ? name : "host";
    }

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
                if (m.Groups[2].Success && m.Groups[2].Value != ThisHost) continue;
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
