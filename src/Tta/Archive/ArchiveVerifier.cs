using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Archive;

/// <summary>What <see cref="ArchiveVerifier.Verify"/> found: problems name the archive member they concern.</summary>
public sealed record VerifyReport(IReadOnlyList<string> Problems, int MembersChecked, int FiguresCompared)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Checks an archive written by <see cref="ExperimentArchive"/> without the workspace or any model: every member's
/// SHA-256 against <c>SHA256SUMS</c> and <c>ro-crate-metadata.json</c>, then regenerates the figures from the
/// archived similarity Parquet files (the Figures stage over a temporary workspace) and compares them byte for byte
/// with the archived figures.
/// </summary>
public static partial class ArchiveVerifier
{
    [GeneratedRegex("^([0-9a-f]{64}) [ *](.+)$")]
    private static partial Regex SumsLine();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeKey();

    public static VerifyReport Verify(string archivePath, TextWriter log)
    {
        var problems = new List<string>();
        using var zip = ZipFile.OpenRead(archivePath);
        var actual = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries)
        {
            if (entry.FullName.EndsWith('/')) continue;
            if (actual.ContainsKey(entry.FullName)) { problems.Add($"{entry.FullName}: member appears twice in the archive"); continue; }
            try
            {
                using var s = entry.Open();
                actual[entry.FullName] = Convert.ToHexStringLower(SHA256.HashData(s));
            }
            catch (InvalidDataException ex)
            {
                problems.Add($"{entry.FullName}: cannot be read from the zip ({ex.Message})");
            }
        }

        var crateSums = CrateChecksums(zip, problems, out var crateReadable);
        var listed = CheckSums(zip, actual, crateSums, problems);
        foreach (var (name, sha) in crateSums)
        {
            if (!actual.TryGetValue(name, out var a) || a == sha) continue;
            if (listed.TryGetValue(name, out var l) && l == a)
                problems.Add($"{ExperimentArchive.CrateName}: the sha256 of {name} is wrong (the member matches {ExperimentArchive.SumsName})");
            else if (!problems.Any(p => p.StartsWith(name + ":", StringComparison.Ordinal)))
                problems.Add($"{name}: SHA-256 differs from the one in {ExperimentArchive.CrateName} — the member was changed or damaged");
        }
        foreach (var name in actual.Keys.Where(n => crateReadable && n is not ExperimentArchive.CrateName and not ExperimentArchive.SumsName && !crateSums.ContainsKey(n)))
            problems.Add($"{name}: not described (with a sha256) in {ExperimentArchive.CrateName}");
        log.WriteLine($"checked the SHA-256 of {actual.Count} members: {(problems.Count == 0 ? "all match" : $"{problems.Count} problem(s)")}");

        var compared = RegenerateFigures(zip, problems, log);
        Explorer.ExplorerCheck.Verify(zip, problems, log);
        return new VerifyReport(problems, actual.Count, compared);
    }

    private static byte[]? ReadMember(ZipArchive zip, string name)
    {
        var entry = zip.GetEntry(name);
        if (entry is null) return null;
        using var s = entry.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>File entities of the crate that carry a sha256, by member name.</summary>
    private static Dictionary<string, string> CrateChecksums(ZipArchive zip, List<string> problems, out bool readable)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        readable = false;
        var bytes = ReadMember(zip, ExperimentArchive.CrateName);
        if (bytes is null)
        {
            problems.Add($"{ExperimentArchive.CrateName}: missing from the archive");
            return result;
        }
        try
        {
            var graph = JsonNode.Parse(bytes)?["@graph"]?.AsArray() ?? throw new JsonException("no @graph");
            foreach (var item in graph.OfType<JsonObject>())
            {
                var types = item["@type"] switch
                {
                    JsonArray arr => arr.Select(t => t?.GetValue<string>()),
                    JsonValue v => [v.GetValue<string>()],
                    _ => [],
                };
                if (!types.Contains("File") || item["sha256"] is not JsonValue sha || item["@id"] is not JsonValue id) continue;
                var name = id.GetValue<string>();
                if (!name.StartsWith('#')) result[name] = sha.GetValue<string>();
            }
            readable = true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            problems.Add($"{ExperimentArchive.CrateName}: not valid RO-Crate JSON-LD ({ex.Message})");
        }
        return result;
    }

    /// <summary>Checks every member against SHA256SUMS; returns the list's entries.</summary>
    private static Dictionary<string, string> CheckSums(ZipArchive zip, Dictionary<string, string> actual, Dictionary<string, string> crate, List<string> problems)
    {
        var listed = new Dictionary<string, string>(StringComparer.Ordinal);
        var bytes = ReadMember(zip, ExperimentArchive.SumsName);
        if (bytes is null)
        {
            problems.Add($"{ExperimentArchive.SumsName}: missing from the archive");
            return listed;
        }
        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var m = SumsLine().Match(lines[i]);
            if (!m.Success) { problems.Add($"{ExperimentArchive.SumsName}: line {i + 1} is not '<sha256>  <member>'"); continue; }
            listed[m.Groups[2].Value] = m.Groups[1].Value;
        }
        foreach (var (name, sha) in listed)
        {
            if (!actual.TryGetValue(name, out var a))
            {
                if (zip.GetEntry(name) is null && !crate.ContainsKey(name))
                    problems.Add($"{ExperimentArchive.SumsName}: lists '{name}', which is not in the archive (or the list was changed)");
                else if (zip.GetEntry(name) is null)
                    problems.Add($"{name}: missing from the archive");
                continue;
            }
            if (a == sha) continue;
            // The member or the list changed: the crate's copy of the checksum tells which.
            problems.Add(crate.TryGetValue(name, out var c) && c == a
                ? $"{ExperimentArchive.SumsName}: the entry for {name} is wrong (the member matches {ExperimentArchive.CrateName})"
                : $"{name}: SHA-256 mismatch — the member was changed or damaged");
        }
        foreach (var name in actual.Keys.Where(n => n != ExperimentArchive.SumsName && !listed.ContainsKey(n)))
            problems.Add(crate.ContainsKey(name)
                ? $"{ExperimentArchive.SumsName}: has no (readable) entry for {name}"
                : $"{name}: not listed in {ExperimentArchive.SumsName}");
        return listed;
    }

    /// <summary>Runs the Figures stage on the archived similarity Parquet files and compares the results.</summary>
    private static int RegenerateFigures(ZipArchive zip, List<string> problems, TextWriter log)
    {
        Experiment experiment;
        try
        {
            experiment = ExperimentFromRunManifest(ReadMember(zip, ExperimentArchive.RunManifestName)
                ?? throw new InvalidDataException("missing from the archive"));
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or ArgumentException or NullReferenceException)
        {
            problems.Add($"{ExperimentArchive.RunManifestName}: cannot tell which figures to regenerate ({ex.Message})");
            return 0;
        }
        var temp = Path.Combine(Path.GetTempPath(), $"tta-verify-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var compared = 0;
        try
        {
            var ws = Workspace.At(temp, Path.Combine(temp, "cache"), Path.Combine(temp, "figures"));
            var context = new RunContext(ws, [experiment], log);
            foreach (var m in experiment.Models)
                foreach (var t in experiment.Texts)
                {
                    var key = $"{experiment.Name}/{m.Key}/{t.Key}";
                    var prefix = $"figures/{key}/";
                    var archived = zip.Entries.Where(x => x.FullName.StartsWith(prefix, StringComparison.Ordinal) && !x.FullName.EndsWith('/'))
                        .ToDictionary(x => x.FullName, StringComparer.Ordinal);
                    // Every metrics file a figure kind reads (similarity.parquet, attention.parquet, …).
                    var parquet = $"cache/metrics/{key}/similarity.parquet";
                    var missing = false;
                    foreach (var kind in experiment.Figures.Kinds)
                    {
                        var member = $"cache/metrics/{key}/{kind}.parquet";
                        var data = ReadMember(zip, member);
                        if (data is null)
                        {
                            problems.Add($"{member}: missing from the archive, so the figures of {key} cannot be regenerated");
                            missing = true;
                            continue;
                        }
                        AtomicFile.WriteAllBytes(Path.Combine(MetricsStage.Dir(ws, experiment, m, t), kind + ".parquet"), data);
                    }
                    if (missing) continue;
                    IReadOnlyList<string> regenerated;
                    try
                    {
                        regenerated = new FiguresUnit(ws, experiment, m, t).Run(context);
                    }
                    catch (Exception ex) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
                    {
                        problems.Add($"{parquet}: figures of {key} could not be regenerated from it ({ex.Message})");
                        continue;
                    }
                    foreach (var path in regenerated)
                    {
                        var name = prefix + Path.GetRelativePath(Path.Combine(ws.FiguresDir, experiment.Name, m.Key, t.Key), path).Replace('\\', '/');
                        compared++;
                        if (!archived.Remove(name, out var entry))
                        {
                            problems.Add($"{name}: regenerated from {parquet} but missing from the archive");
                            continue;
                        }
                        var mine = File.ReadAllBytes(path);
                        var theirs = ReadMember(zip, entry.FullName)!;
                        if (!mine.AsSpan().SequenceEqual(theirs))
                            problems.Add($"{name}: differs from the figure regenerated from {parquet}");
                    }
                    foreach (var name in archived.Keys)
                        problems.Add($"{name}: not produced when regenerating the figures of {key} from {parquet}");
                }
            log.WriteLine($"regenerated {compared} figure file(s) from the archived Parquet and compared them byte for byte");
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return compared;
    }

    /// <summary>
    /// The parts of the experiment the Figures stage reads (names, keys, figure options), from the run manifest —
    /// not from the YAML, whose local model folders and text files need not exist where the archive is checked.
    /// </summary>
    internal static Experiment ExperimentFromRunManifest(byte[] bytes)
    {
        var root = JsonNode.Parse(bytes)?.AsObject() ?? throw new InvalidDataException("empty");
        if (root["format"]?.GetValue<string>() != ExperimentArchive.RunManifestFormat)
            throw new InvalidDataException($"format is not {ExperimentArchive.RunManifestFormat}");
        var e = root["experiment"]!.AsObject();
        var file = e["file"]!.GetValue<string>();
        var at = new SourceSpan(file, 1, 1);
        string Key(JsonNode? n, string what)
        {
            var k = n?.GetValue<string>() ?? throw new InvalidDataException($"no {what}");
            return SafeKey().IsMatch(k) && k is not ("." or "..") ? k : throw new InvalidDataException($"unsafe {what} '{k}'");
        }
        var models = e["models"]!.AsArray().Select(m => new ModelSpec(Key(m!["key"], "model key"), m["id"]!.GetValue<string>(),
            m["source"]!.GetValue<string>(), m["revision"]?.GetValue<string>() ?? "", m["dtype"]?.GetValue<string>() ?? "float32",
            m["device"]?.GetValue<string>() ?? "cpu", null, at)).ToList();
        var texts = e["texts"]!.AsArray().Select(t => new TextSpec(Key(t!["key"], "text key"), "", t["file"]?.GetValue<string>(), at)).ToList();
        var figures = e["figures"].Deserialize<FiguresSpec>(Redaction.Json) ?? throw new InvalidDataException("no figures options");
        var metrics = e["metrics"].Deserialize<MetricsSpec>(Redaction.Json) ?? new MetricsSpec([]);
        return new Experiment(Key(e["name"], "experiment name"), file, models, texts,
            new ExtractSpec([], null, 0, null), metrics, figures);
    }
}
