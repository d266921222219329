using Tta.Cache;
using Tta.Config;
using Tta.Metrics;

namespace Tta.Execution;

/// <summary>
/// Results no experiment describes any more: the units built for a text, model or experiment that was renamed or
/// removed since. An experiment name is described by the experiments of this run and by the file its record names
/// (<see cref="ExperimentOwners"/>) while that file exists and keeps the name; a name without a record (a cache from
/// before records) is left alone, as tta cannot tell what describes it. Downloads are shared by experiments and
/// never counted here.
/// </summary>
public static class OrphanUnits
{
    /// <summary>An orphan unit's manifest and the files it records (absolute paths).</summary>
    public sealed record Orphan(string ManifestPath, UnitManifest Manifest, IReadOnlyList<string> Files);

    /// <summary>The orphan units in the cache, and the folders that hold only their files (outermost first).</summary>
    public static (IReadOnlyList<Orphan> Units, IReadOnlyList<string> Folders) Find(Workspace ws, IReadOnlyList<Experiment> experiments)
    {
        if (!Directory.Exists(ws.CacheDir)) return ([], []);
        var described = new Dictionary<string, HashSet<string>?>(StringComparer.Ordinal); // name → unit ids; null: unknown
        var owners = ExperimentOwners.Records(ws);
        HashSet<string>? Described(string name)
        {
            if (described.TryGetValue(name, out var ids)) return ids;
            var experiment = experiments.FirstOrDefault(e => e.Name == name);
            if (experiment is null && owners.ContainsKey(name) && ExperimentOwners.Owner(ws, name) is { } file)
            {
                try { experiment = ExperimentLoader.Load(file, MetricKinds.Default.Settings); }
                catch (ConfigException) { return described[name] = null; } // being edited: nothing of it is an orphan
            }
            if (experiment is null) return described[name] = owners.ContainsKey(name) ? [] : null;
            using var context = new RunContext(ws, [experiment], TextWriter.Null);
            return described[name] = [.. UnitGraph.For(context).Units.Select(u => u.Id)];
        }

        var orphans = new List<Orphan>();
        var kept = new List<string>(); // files of described units (and of units tta cannot place)
        // Downloads (shared, and full of large JSON files of the checkpoints) are never orphans here.
        var downloads = Path.Combine(ws.CacheDir, "download");
        foreach (var json in Directory.EnumerateFiles(ws.CacheDir, "*.json", SearchOption.AllDirectories).Where(f => !Workspace.IsUnder(f, downloads)))
        {
            if (UnitManifest.TryRead(json) is not { } manifest) continue;
            var files = manifest.Outputs.Select(o => ws.Absolute(o.Path)).Append(json).ToList();
            var name = manifest.Unit.Split('/')[0];
            var ids = manifest.Stage == Download.DownloadStage.Name ? null : Described(name);
            if (ids is null || ids.Contains($"{manifest.Stage}:{manifest.Unit}")) kept.AddRange(files);
            else orphans.Add(new Orphan(json, manifest, files));
        }
        // A folder is listed when it holds an orphan's file and no file of a unit that stays.
        bool Holds(string dir, string file) => Workspace.IsUnder(file, dir);
        var candidates = orphans.SelectMany(o => o.Files).Select(Path.GetDirectoryName).OfType<string>()
            .Where(d => (Workspace.IsUnder(d, ws.CacheDir) || Workspace.IsUnder(d, ws.FiguresDir)) && d != ws.CacheDir && d != ws.FiguresDir)
            .Distinct(StringComparer.Ordinal).ToList();
        // Climb to the outermost folder that still holds nothing that stays (a renamed text: its whole folder).
        var folders = new HashSet<string>(StringComparer.Ordinal);
        var known = orphans.SelectMany(o => o.Files).ToHashSet(StringComparer.Ordinal);
        foreach (var start in candidates)
        {
            if (kept.Any(f => Holds(start, f))) continue;
            var dir = start;
            while (Path.GetDirectoryName(dir) is { } parent && parent != ws.CacheDir && parent != ws.FiguresDir
                   && !kept.Any(f => Holds(parent, f)) && !HoldsOther(parent, known))
                dir = parent;
            folders.Add(dir);
        }
        var outermost = folders.Where(d => !folders.Any(o => o != d && Workspace.IsUnder(d, o))).Order(StringComparer.Ordinal).ToList();
        return (orphans, outermost);
    }

    /// <summary>Whether <paramref name="dir"/> holds a file that is no unit's (a user's file, another tool's): then it is not tta's to list.</summary>
    private static bool HoldsOther(string dir, HashSet<string> known) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Any(f => !known.Contains(f) && Path.GetFileName(f) != OwnedFolder.MarkerName);

    /// <summary>What Clean --orphans removes: every file of the orphan units, and the records of names no file claims any more.</summary>
    public static IReadOnlyCollection<string> Files(Workspace ws, IReadOnlyList<Experiment> experiments)
    {
        var files = Find(ws, experiments).Units.SelectMany(u => u.Files).ToList();
        files.AddRange(ExperimentOwners.Records(ws).Where(r => !experiments.Any(e => e.Name == r.Key) && ExperimentOwners.Owner(ws, r.Key) is null).Select(r => r.Value));
        return files;
    }

    /// <summary>The lines <c>--explain</c> prints for them.</summary>
    public static IEnumerable<string> Explain(Workspace ws, IReadOnlyList<Experiment> experiments) =>
        Find(ws, experiments).Folders.Select(d =>
            $"no experiment describes {ws.Relative(d)}/ any more (a text, model or experiment renamed or removed); `./build.sh --target=Clean --orphans` removes it");
}
