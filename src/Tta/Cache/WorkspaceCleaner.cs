using System.Text.RegularExpressions;
using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// Clean: deletes what tta wrote in the cache and figures folders, and nothing else. A folder is touched only when
/// tta created it (<see cref="OwnedFolder"/>); within it, only files tta wrote go: every unit manifest and the
/// outputs it records, the records of converted models, leftover temporary files and the archives tta named. Other
/// files stay, with the folders that hold them, and are listed. The run lock is taken exclusive, so Clean waits for a
/// run in progress (between its stages too) instead of pulling files from under it.
/// </summary>
public static partial class WorkspaceCleaner
{
    /// <summary>What Clean removed and what it left.</summary>
    public sealed record Report(int FilesRemoved, IReadOnlyList<string> Kept);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]*-\d{8}-\d{6}(-\d+)?\.zip$")]
    private static partial Regex ArchiveName();

    /// <summary>Other files tta writes beside unit outputs: records of converted models (<c>conversion.json</c>).</summary>
    public static readonly IReadOnlyList<string> RecordNames = ["conversion.json"];

    /// <exception cref="InvalidOperationException">A folder tta did not create; nothing is deleted then.</exception>
    public static Report Clean(Workspace ws, TimeSpan? wait, TextWriter log) => Clean(ws, wait, log, null);

    /// <summary>
    /// Clean with <c>--orphans</c>: removes only what tta wrote for units that no experiment describes any more
    /// (<paramref name="orphans"/>: given the workspace, the files of those units; called under the lock), and the
    /// folders that leaves empty. Current results stay.
    /// </summary>
    public static Report Clean(Workspace ws, TimeSpan? wait, TextWriter log, Func<IReadOnlyCollection<string>>? orphans)
    {
        var folders = new[] { ws.CacheDir, ws.FiguresDir }.Distinct(StringComparer.Ordinal).Where(Directory.Exists).ToList();
        foreach (var dir in folders)
        {
            if (Workspace.IsUnder(ws.Root, dir))
                throw new InvalidOperationException($"refusing to clean {dir}: it holds the project itself ({ws.Root}); point --cache and --figures at folders of their own");
            if (!OwnedFolder.IsMarked(dir))
                throw new InvalidOperationException(
                    $"refusing to clean {dir}: tta did not create it (it has no {OwnedFolder.MarkerName} file), so it may hold files that are not tta's; " +
                    "nothing was deleted. Delete what you no longer need in it yourself.");
        }
        if (folders.Count == 0) return new Report(0, []);

        using var runLock = Directory.Exists(ws.CacheDir) ? RunLock.Acquire(ws.CacheDir, LockMode.Exclusive, wait, log) : null;
        var written = orphans is null ? WrittenFiles(ws, folders) : [.. orphans().Where(f => folders.Any(d => Workspace.IsUnder(f, d)) && !IsLink(f) && File.Exists(f))];
        var removed = 0;
        foreach (var file in written)
        {
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.WriteLine($"could not delete {file}: {e.Message}");
            }
        }
        var kept = new List<string>();
        foreach (var dir in folders)
        {
            var keep = new HashSet<string>(StringComparer.Ordinal) { Path.Combine(dir, OwnedFolder.MarkerName) };
            if (dir == ws.CacheDir) keep.Add(RunLock.PathIn(dir));
            RemoveEmptyFolders(dir);
            if (orphans is null) kept.AddRange(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(f => !keep.Contains(f)));
            // The cache folder stays with its lock file (deleting a lock file that others may wait on would split the lock).
            if (orphans is null && dir != ws.CacheDir && !Directory.EnumerateFileSystemEntries(dir).Any(e => !keep.Contains(e)))
                Directory.Delete(dir, recursive: true);
        }
        return new Report(removed, kept.Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>Where the Slurm executor writes each run's task scripts and logs, under the cache.</summary>
    public const string SlurmFolder = ".slurm";

    /// <summary>Files under <paramref name="folders"/> that tta wrote.</summary>
    private static HashSet<string> WrittenFiles(Workspace ws, IReadOnlyList<string> folders)
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        bool Inside(string path) => folders.Any(d => Workspace.IsUnder(path, d));
        if (Directory.Exists(ws.CacheDir))
        {
            foreach (var json in Directory.EnumerateFiles(ws.CacheDir, "*.json", SearchOption.AllDirectories))
            {
                if (RecordNames.Contains(Path.GetFileName(json))
                    || Path.GetDirectoryName(json) == Path.Combine(ws.CacheDir, ExperimentOwners.Folder)) { files.Add(json); continue; }
                if (UnitManifest.TryRead(json) is not { } manifest) continue;
                files.Add(json);
                foreach (var o in manifest.Outputs)
                {
                    var path = ws.Absolute(o.Path);
                    // Only the output itself: a link (a Hub snapshot entry) is never followed out of the folder.
                    if (Inside(path) && !IsLink(path)) files.Add(path);
                }
            }
        }
        // Unit lock files (nobody holds or waits on one while Clean holds the run lock exclusively) and the Slurm
        // executor's task scripts and logs.
        foreach (var folder in new[] { UnitLock.Folder, SlurmFolder })
            if (Inside(Path.Combine(ws.CacheDir, folder)) && Directory.Exists(Path.Combine(ws.CacheDir, folder)))
                files.UnionWith(Directory.EnumerateFiles(Path.Combine(ws.CacheDir, folder), "*", SearchOption.AllDirectories));
        foreach (var dir in folders)
        {
            files.UnionWith(Directory.EnumerateFiles(dir, ".tmp-*", SearchOption.AllDirectories));
            var archives = Path.Combine(dir, "archives");
            if (Directory.Exists(archives))
                files.UnionWith(Directory.EnumerateFiles(archives).Where(f => ArchiveName().IsMatch(Path.GetFileName(f))));
        }
        files.RemoveWhere(f => !File.Exists(f) && !IsLink(f));
        return files;
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    private static void RemoveEmptyFolders(string dir)
    {
        foreach (var sub in Directory.EnumerateDirectories(dir))
        {
            if (new DirectoryInfo(sub).LinkTarget is not null) continue;
            RemoveEmptyFolders(sub);
            if (!Directory.EnumerateFileSystemEntries(sub).Any()) Directory.Delete(sub);
        }
    }
}
