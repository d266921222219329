using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Archive;
using Tta.Cache;
using Tta.Explorer;
using Tta.Pipeline;

namespace Tta.Archive;

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
    public static int Verify(ArchiveMembers members, List<string> problems, List<string> notRegenerated, TextWriter log)
    {
        Config.Experiment experiment;
        try
        {
            experiment = FigureCheck.ExperimentFromRunManifest(members.Read(ExperimentArchive.RunManifestName), members.Options.Kinds);
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
            if (FigureCheck.OtherCode(members, ws, new ExplorerUnit(ws, experiment, members.Options.Kinds), ExplorerUnit.CodeVersion,
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
                {
                    var path = Path.GetFullPath(Path.Combine(temp, name));
                    if (!name.EndsWith("manifest.json", StringComparison.Ordinal))
                    {
                        ArchiveMembers.Extract(entry, path, temp);
                        continue;
                    }
                    var manifest = members.Read(name)!;
                    if (InArchiveLayout(name, manifest, problems) is not { } laidOut) return 0;
                    if (!Workspace.IsUnder(path, temp)) throw new InvalidOperationException($"refusing to write {path}: outside the verification folder {temp}");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    File.WriteAllBytes(path, laidOut);
                }
                var match = DataScript().Match(System.Text.Encoding.UTF8.GetString(members.Read(pageName)!));
                yaml = match.Success ? JsonDocument.Parse(match.Groups[1].Value).RootElement.GetProperty("yaml").GetString() : null;
            }
            catch (Exception ex) when (ex is InvalidDataException or JsonException or KeyNotFoundException or InvalidOperationException)
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
                using var context = members.Options.Kinds.AttachTo(new RunContext(ws, [experiment], log));
                rebuilt = new ExplorerUnit(ws, experiment with { SourcePath = yamlPath }, members.Options.Kinds).Run(context);
            }
            catch (Exception ex) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
            {
                problems.Add($"{pageName}: the explorer could not be rebuilt from the archived data ({ex.Message})");
                return 0;
            }
            compared = ArchiveMembers.CompareRebuilt(rebuilt.Select(path => ("figures/" + Path.GetRelativePath(ws.FiguresDir, path).Replace('\\', '/'), path)),
                archived, problems, ("rebuilt with the explorer but missing from the archive",
                    "differs from the explorer rebuilt from the archived Parquet files and figures",
                    "not produced when rebuilding the explorer from the archive"));
            log.WriteLine($"rebuilt the explorer ({compared} file(s)) from the archived data and compared it byte for byte");
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return compared;
    }

    /// <summary>
    /// A unit manifest with its outputs named as archive members (<c>cache/…</c>, <c>figures/…</c>), which the rebuild
    /// reads. An archive made before its manifests were written in its own layout records outputs under the cache and
    /// figures folders it was made with (e.g. <c>../elsewhere/figures/…</c>, from <c>--figures</c>): they are mapped by
    /// the folders the manifest records. Null, with a problem, when an output still names a place outside the archive,
    /// so nothing is read from outside the verification folder. A Download manifest names the model's own files (not
    /// archived) and is taken as it is.
    /// </summary>
    internal static byte[]? InArchiveLayout(string member, byte[] bytes, List<string> problems)
    {
        var json = JsonNode.Parse(bytes);
        if (json?["stage"]?.GetValue<string>() == Download.DownloadStage.Name || json?["outputs"] is not JsonArray outputs) return bytes;
        var recorded = new[] { ("cache", json["folders"]?["cache"]?.GetValue<string>() ?? "cache"), ("figures", json["folders"]?["figures"]?.GetValue<string>() ?? "figures") }
            .OrderByDescending(f => f.Item2.Length).ToList(); // the deeper folder first, should one hold the other
        var changed = false;
        foreach (var output in outputs.OfType<JsonObject>())
        {
            var path = output["path"]?.GetValue<string>() ?? "";
            var mapped = recorded.Where(f => path.StartsWith(f.Item2 + "/", StringComparison.Ordinal))
                .Select(f => f.Item1 + path[f.Item2.Length..]).FirstOrDefault() ?? path;
            if (ArchiveMembers.UnsafeName(mapped) is not null || !(mapped.StartsWith("cache/", StringComparison.Ordinal) || mapped.StartsWith("figures/", StringComparison.Ordinal)))
            {
                problems.Add($"{member}: names output '{path}', which is not in the archive's cache/ or figures/; the explorer is not rebuilt from it");
                return null;
            }
            if (mapped == path) continue;
            output["path"] = mapped;
            changed = true;
        }
        return changed ? System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()) : bytes;
    }
}
