using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tta.Archive;
using Tta.Cache;

namespace Tta.Explorer;

/// <summary>
/// Verify's check of an archived explorer: rebuilds the page from the archive's own Parquet files, figures (with their
/// thumbnails, which Verify regenerates with the figures) and unit manifests (the Figures stage's code, in a temporary workspace) and compares them byte for byte
/// with the archived ones. The experiment file's text shown on the page is taken from the archived page itself (the
/// archive rewrites paths in it), so everything else on the page must follow from the archived data.
/// </summary>
public static partial class ExplorerCheck
{
    [GeneratedRegex("""<script type="application/json" id="tta-data">(.*?)</script>""", RegexOptions.Singleline)]
    private static partial Regex DataScript();

    /// <summary>
    /// Adds a problem per differing or missing file; returns the number of files compared. <paramref name="members"/>:
    /// the archive's members whose names Verify found safe.
    /// </summary>
    public static int Verify(Dictionary<string, ZipArchiveEntry> members, List<string> problems, List<string> notRegenerated, TextWriter log)
    {
        Config.Experiment experiment;
        try
        {
            experiment = ArchiveVerifier.ExperimentFromRunManifest(ArchiveVerifier.ReadMember(members, ExperimentArchive.RunManifestName)
                ?? throw new InvalidDataException("missing"));
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or ArgumentException or NullReferenceException)
        {
            return 0; // the figure check already reported the run manifest
        }
        var prefix = $"figures/{experiment.Name}/";
        var pageName = prefix + ExplorerPage.FileName;
        var archived = members.Where(e => e.Key == pageName).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (!archived.ContainsKey(pageName) && !members.ContainsKey($"cache/figures/{experiment.Name}/explorer.manifest.json"))
        {
            log.WriteLine("no explorer in this archive (made by a tta without one); nothing to rebuild");
            return 0;
        }
        if (!archived.ContainsKey(pageName))
        {
            problems.Add($"{pageName}: missing from the archive (the explorer of '{experiment.Name}')");
            return 0;
        }
        var temp = Directory.CreateTempSubdirectory("tta-verify-explorer-").FullName;
        var ws = Workspace.At(temp, Path.Combine(temp, "cache"), Path.Combine(temp, "figures"));
        var compared = 0;
        try
        {
            if (ArchiveVerifier.OtherCode(members, ws, new ExplorerUnit(ws, experiment), ExplorerUnit.CodeVersion,
                    ("assets", JsonSerializer.Serialize(ExplorerPage.AssetsSha256))) is { } other)
            {
                notRegenerated.Add($"explorer of {experiment.Name}: built by {other}, this tta builds {ExplorerUnit.CodeVersion}");
                log.WriteLine($"the explorer was built by {other} and this tta builds {ExplorerUnit.CodeVersion}: checksummed, not rebuilt");
                return 0;
            }
            string? yaml;
            try
            {
                foreach (var (name, entry) in members.Where(e => !archived.ContainsKey(e.Key)
                             && (e.Key.StartsWith("cache/", StringComparison.Ordinal) || e.Key.StartsWith("figures/", StringComparison.Ordinal))))
                    ArchiveVerifier.Extract(entry, Path.GetFullPath(Path.Combine(temp, name)), temp);
                var match = DataScript().Match(System.Text.Encoding.UTF8.GetString(ArchiveVerifier.ReadMember(members, pageName)!));
                yaml = match.Success ? JsonDocument.Parse(match.Groups[1].Value).RootElement.GetProperty("yaml").GetString() : null;
            }
            catch (Exception ex) when (ex is InvalidDataException or JsonException or KeyNotFoundException)
            {
                problems.Add($"{pageName}: the explorer cannot be rebuilt, its inputs cannot be read ({ex.Message})");
                return 0;
            }
            if (yaml is null)
            {
                problems.Add($"{pageName}: holds no explorer data");
                return 0;
            }
            var yamlPath = Path.Combine(temp, "experiment.yaml");
            File.WriteAllText(yamlPath, yaml);
            IReadOnlyList<string> rebuilt;
            try
            {
                rebuilt = new ExplorerUnit(ws, experiment with { SourcePath = yamlPath }).Run(new RunContext(ws, [experiment], log));
            }
            catch (Exception ex) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
            {
                problems.Add($"{pageName}: the explorer could not be rebuilt from the archived data ({ex.Message})");
                return 0;
            }
            foreach (var path in rebuilt)
            {
                var name = "figures/" + Path.GetRelativePath(ws.FiguresDir, path).Replace('\\', '/');
                compared++;
                if (!archived.Remove(name, out var entry))
                    problems.Add($"{name}: rebuilt with the explorer but missing from the archive");
                else if (!SameBytes(path, entry))
                    problems.Add($"{name}: differs from the explorer rebuilt from the archived Parquet files and figures");
            }
            foreach (var name in archived.Keys)
                problems.Add($"{name}: not produced when rebuilding the explorer from the archive");
            log.WriteLine($"rebuilt the explorer ({compared} file(s)) from the archived data and compared it byte for byte");
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return compared;
    }

    private static bool SameBytes(string path, ZipArchiveEntry entry)
    {
        try { return ArchiveVerifier.SameBytes(path, entry); }
        catch (InvalidDataException) { return false; }
    }
}
