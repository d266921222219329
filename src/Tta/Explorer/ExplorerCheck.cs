using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tta.Archive;
using Tta.Cache;

namespace Tta.Explorer;

/// <summary>
/// Verify's check of an archived explorer: rebuilds the page and its thumbnails from the archive's own Parquet files,
/// figures and unit manifests (the Figures stage's code, in a temporary workspace) and compares them byte for byte
/// with the archived ones. The experiment file's text shown on the page is taken from the archived page itself (the
/// archive rewrites paths in it), so everything else on the page must follow from the archived data.
/// </summary>
public static partial class ExplorerCheck
{
    [GeneratedRegex("""<script type="application/json" id="tta-data">(.*?)</script>""", RegexOptions.Singleline)]
    private static partial Regex DataScript();

    /// <summary>Adds a problem per differing or missing file; returns the number of files compared.</summary>
    public static int Verify(ZipArchive zip, List<string> problems, TextWriter log)
    {
        Config.Experiment experiment;
        try
        {
            using var s = zip.GetEntry(ExperimentArchive.RunManifestName)?.Open() ?? throw new InvalidDataException("missing");
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            experiment = ArchiveVerifier.ExperimentFromRunManifest(ms.ToArray());
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or ArgumentException or NullReferenceException)
        {
            return 0; // the figure check already reported the run manifest
        }
        var prefix = $"figures/{experiment.Name}/";
        var pageName = prefix + ExplorerPage.FileName;
        var archived = zip.Entries.Where(e => e.FullName == pageName || e.FullName.StartsWith(prefix + ExplorerBuilder.ThumbsFolder + "/", StringComparison.Ordinal))
            .ToDictionary(e => e.FullName, StringComparer.Ordinal);
        if (!archived.TryGetValue(pageName, out var pageEntry) && zip.GetEntry($"cache/figures/{experiment.Name}/explorer.manifest.json") is null)
        {
            log.WriteLine("no explorer in this archive (made by a tta without one); nothing to rebuild");
            return 0;
        }
        if (pageEntry is null)
        {
            problems.Add($"{pageName}: missing from the archive (the explorer of '{experiment.Name}')");
            return 0;
        }
        var temp = Path.Combine(Path.GetTempPath(), $"tta-verify-explorer-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var compared = 0;
        try
        {
            var ws = Workspace.At(temp, Path.Combine(temp, "cache"), Path.Combine(temp, "figures"));
            foreach (var entry in zip.Entries.Where(e => !e.FullName.EndsWith('/') && !archived.ContainsKey(e.FullName)
                         && (e.FullName.StartsWith("cache/", StringComparison.Ordinal) || e.FullName.StartsWith("figures/", StringComparison.Ordinal))))
            {
                var target = Path.GetFullPath(Path.Combine(temp, entry.FullName));
                if (!target.StartsWith(temp + Path.DirectorySeparatorChar, StringComparison.Ordinal)) continue; // a member name that climbs out is reported by the checksum check
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                entry.ExtractToFile(target);
            }
            var page = Read(pageEntry);
            var match = DataScript().Match(System.Text.Encoding.UTF8.GetString(page));
            var yaml = match.Success ? JsonDocument.Parse(match.Groups[1].Value).RootElement.GetProperty("yaml").GetString() : null;
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
                else if (!File.ReadAllBytes(path).AsSpan().SequenceEqual(Read(entry)))
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

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
