using System.Text.Json;
using Tta.Config;
using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// Which experiment file each experiment name in a cache belongs to: <c>cache/experiments/NAME.json</c> holds the
/// file's path (relative to the project), written when a run builds the experiment. Results are stored by name, so a
/// second file claiming the name (a copy of default.yaml whose <c>name:</c> was not changed) would overwrite the
/// first one's results; it is an error naming both files, unless the first file is gone or names itself otherwise.
/// </summary>
public static class ExperimentOwners
{
    public const string Folder = "experiments";

    private sealed record OwnerRecord(string File);

    private static string RecordPath(Workspace ws, string name) => Path.Combine(ws.CacheDir, Folder, name + ".json");

    /// <summary>The record files in the cache, by experiment name.</summary>
    public static IReadOnlyDictionary<string, string> Records(Workspace ws)
    {
        var dir = Path.Combine(ws.CacheDir, Folder);
        return Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*.json").ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => f, StringComparer.Ordinal)
            : new Dictionary<string, string>();
    }

    /// <summary>
    /// The file (absolute) recorded for <paramref name="name"/> while it still exists and still claims that name;
    /// null when there is no record, or the file is gone or was renamed.
    /// </summary>
    public static string? Owner(Workspace ws, string name)
    {
        var path = RecordPath(ws, name);
        OwnerRecord? owner;
        try
        {
            owner = File.Exists(path) ? JsonSerializer.Deserialize<OwnerRecord>(File.ReadAllText(path), Json) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null; // an unreadable record binds nothing; the next run writes it again
        }
        if (owner?.File is not { Length: > 0 } file) return null;
        var full = ws.Absolute(file);
        if (!File.Exists(full)) return null;
        // A file that cannot be read now still claims its name (it is being edited, most likely).
        return ExperimentLoader.DeclaredName(full) is { } declared && declared != name ? null : full;
    }

    /// <summary>
    /// A <see cref="ConfigException"/> when another file owns one of <paramref name="experiments"/>' names. Reads
    /// only: a rejected run writes nothing.
    /// </summary>
    public static void Check(Workspace ws, IEnumerable<Experiment> experiments)
    {
        var problems = new List<ConfigException>();
        foreach (var e in experiments)
        {
            if (Owner(ws, e.Name) is not { } owner || string.Equals(owner, Path.GetFullPath(e.SourcePath), StringComparison.Ordinal)) continue;
            problems.Add(new ConfigException(ExperimentLoader.NameAt(e.SourcePath, ws.Relative(e.SourcePath)),
                $"experiment name '{e.Name}' belongs to {ws.Relative(owner)}, whose results are stored under that name (in {ws.Relative(ws.CacheDir)}/ and {ws.Relative(ws.FiguresDir)}/{e.Name}/) — " +
                $"give this experiment its own 'name:' (a copied experiment file needs a new one); the name passes to this file only when {ws.Relative(owner)} is deleted or names itself otherwise"));
        }
        if (problems.Count > 0) throw new ConfigException(problems);
    }

    /// <summary>
    /// Records each experiment's file as the owner of its name (a run, under the run lock, after <see cref="Check"/>).
    /// The claim is checked again under an exclusive lock of its own, because two runs hold the run lock shared: of
    /// two runs that start at once with different files of the same name, the second is refused here.
    /// </summary>
    public static void Record(Workspace ws, IReadOnlyList<Experiment> experiments)
    {
        // Already recorded as this run's (every later run, every Slurm task): nothing to claim, no lock to take.
        if (experiments.All(e => IsRecorded(ws, e))) return;
        var lockPath = Path.Combine(ws.CacheDir, UnitLock.Folder, "experiment-names.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        using var handle = Flock.Open(lockPath);
        while (!Flock.TryLock(handle, lockPath, LockMode.Exclusive)) Thread.Sleep(10); // held for a few file reads only
        Check(ws, experiments);
        foreach (var e in experiments)
        {
            if (IsRecorded(ws, e)) continue;
            var path = RecordPath(ws, e.Name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllText(path, RecordText(ws, e));
        }
    }

    private static bool IsRecorded(Workspace ws, Experiment e) =>
        File.Exists(RecordPath(ws, e.Name)) && File.ReadAllText(RecordPath(ws, e.Name)) == RecordText(ws, e);

    private static string RecordText(Workspace ws, Experiment e) => JsonSerializer.Serialize(new OwnerRecord(ws.Relative(e.SourcePath)), Json) + "\n";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
