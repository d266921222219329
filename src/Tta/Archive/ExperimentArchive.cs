using System.Globalization;
using System.Security.Cryptography;
using Tta.Cache;
using Tta.Config;
using Tta.Core;
using Tta.Figures;
using Tta.Metrics;
using Tta.Pipeline;

namespace Tta.Archive;

/// <summary>
/// Packs one experiment's results into a zip that is an RO-Crate 1.1 (Process Run Crate profile): the experiment
/// file and its text files (<c>experiment/…</c>), every unit manifest of the experiment (<c>cache/…/manifest.json</c>),
/// the Parquet outputs of Extract and Metrics (<c>cache/extract/…</c>, <c>cache/metrics/…</c>), the figures
/// (<c>figures/…</c>), a run manifest (<c>run-manifest.json</c>), <c>ro-crate-metadata.json</c> and <c>SHA256SUMS</c>.
/// Model weights are not packed, only their SHA-256. The archive is laid out the same whatever <c>--cache</c> and
/// <c>--figures</c> were, and its unit manifests name their outputs in that layout, so it verifies on its own.
/// </summary>
public static class ExperimentArchive
{
    public const string RunManifestName = "run-manifest.json";
    public const string CrateName = "ro-crate-metadata.json";
    public const string SumsName = "SHA256SUMS";
    public const string RunManifestFormat = "tta-run/1";

    /// <summary>Where archives go unless told otherwise: <c>figures/archives/</c>.</summary>
    public static string DefaultDirectory(Workspace ws) => Path.Combine(ws.FiguresDir, "archives");

    /// <summary>Archive file name: experiment name and creation time in UTC.</summary>
    public static string FileName(Experiment e, DateTime createdUtc) =>
        $"{e.Name}-{createdUtc.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.zip";

    /// <summary>
    /// Writes the archive of <paramref name="experiment"/> into <paramref name="outDir"/> (atomically) and returns its
    /// path. Every unit of the experiment must be up to date; the run lock (shared) and the units' locks are held while reading.
    /// </summary>
    /// <param name="kinds">the metric kinds the experiment may configure (tta's own when null).</param>
    public static string Create(Workspace ws, Experiment experiment, string outDir, TextWriter log, DateTime? createdUtc = null, MetricKinds? kinds = null)
    {
        kinds ??= MetricKinds.Default;
        var created = DateTime.SpecifyKind((createdUtc ?? DateTime.UtcNow).ToUniversalTime(), DateTimeKind.Utc);
        created = created.AddTicks(-(created.Ticks % TimeSpan.TicksPerSecond));
        // The run lock in the mode every run takes (shared: the Cake run that built the experiment hands it over), and
        // every unit read, so no run rewrites a unit while its files go into the zip, and Clean waits.
        using var runLock = RunLock.Acquire(ws.CacheDir, LockMode.Shared, null, log);
        using var context = kinds.AttachTo(new RunContext(ws, [experiment], log));
        using var readLock = UnitLock.AcquireForReading(ws.CacheDir, Stages.StageNames.SelectMany(s => Stages.Units(s, context)).ToList(), log);
        var stale = Stages.StageNames.SelectMany(s => Stages.Check(s, context, forced: false).Where(u => !u.UpToDate)
            .Select(u => $"{s} {u.Unit.Key}: {string.Join("; ", u.Reasons)}")).ToList();
        if (stale.Count > 0)
            throw new InvalidOperationException(
                $"experiment '{experiment.Name}' is not fully built, so it cannot be archived:\n  {string.Join("\n  ", stale)}\n" +
                $"run ./build.sh --experiment={ws.Relative(experiment.SourcePath)} first");

        var layout = new ArchiveLayout(experiment);
        // A cache or figures folder outside the project is named as the archive names it, should a path to it appear.
        var folders = layout.Folders.Concat(new[] { (ws.CacheDir, "cache"), (ws.FiguresDir, "figures") }
            .Where(f => !Workspace.IsUnder(f.Item1, ws.Root)));
        var plan = new ArchivePlan(ws, experiment, created, layout, Redaction.ForEnvironment(ws.Root, folders), kinds);
        plan.Collect();
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, FileName(experiment, created));
        for (var n = 2; File.Exists(path); n++)
            path = Path.Combine(outDir, Path.GetFileNameWithoutExtension(FileName(experiment, created)) + $"-{n}.zip");
        AtomicFile.Write(path, stream => plan.WriteZip(stream));
        return path;
    }

    internal static string MediaType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".yaml" or ".yml" => "application/yaml",
        ".json" => "application/json",
        ".parquet" => "application/vnd.apache.parquet",
        ".png" => "image/png",
        ".pdf" => "application/pdf",
        ".svg" => "image/svg+xml",
        _ => "text/plain",
    };

    public const string ProcessRunCrate = "https://w3id.org/ro/wfrun/process/0.5";
}
