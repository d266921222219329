using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Cache;
using Tta.Config;
using Tta.Core;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Archive;

/// <summary>
/// Checks an archive written by <see cref="ExperimentArchive"/> without the workspace or any model: every member's
/// SHA-256 against <c>SHA256SUMS</c> and <c>ro-crate-metadata.json</c>, then regenerates the figures from the
/// archived metrics Parquet files (the Figures stage over a temporary workspace) and compares them byte for byte
/// with the archived figures.
/// <para>
/// An archive may come from anyone, so it is read defensively: members are streamed (memory stays bounded whatever
/// their size), each within a size cap for its kind and no further than the size it declares; unsafe names (absolute,
/// <c>..</c>, backslashes, duplicates), symbolic links and encrypted members are refused unread; and nothing is written
/// outside one temporary folder, removed at the end.
/// </para>
/// </summary>
public static partial class ArchiveVerifier
{
    [GeneratedRegex("^([0-9a-f]{64}) [ *](.+)$")]
    private static partial Regex SumsLine();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeKey();

    /// <summary>Largest member accepted, by kind: metadata and texts, figures, anything else (Parquet).</summary>
    public static long MaxMetadataBytes { get; set; } = 64L << 20;
    public static long MaxFigureBytes { get; set; } = 512L << 20;
    public static long MaxDataBytes { get; set; } = 64L << 30;

    public static VerifyReport Verify(string archivePath, TextWriter log)
    {
        var problems = new List<string>();
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(archivePath); }
        catch (InvalidDataException ex) { return new VerifyReport([$"{Path.GetFileName(archivePath)}: not a readable zip archive ({ex.Message})"], 0, 0); }
        using (zip)
        {
            var members = SafeMembers(zip, problems);
            var actual = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, entry) in members)
            {
                try { actual[name] = Convert.ToHexStringLower(SHA256.HashData(new BoundedStream(entry))); }
                catch (InvalidDataException ex) { problems.Add($"{name}: cannot be read from the zip ({ex.Message})"); }
            }

            var crateSums = CrateChecksums(members, problems, out var crateReadable);
            var listed = CheckSums(members, actual, crateSums, problems);
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

            var notRegenerated = new List<string>();
            var compared = RegenerateFigures(members, problems, notRegenerated, log);
            Explorer.ExplorerCheck.Verify(members, problems, notRegenerated, log);
            return new VerifyReport(problems, actual.Count, compared) { NotRegenerated = notRegenerated, MadeBy = RecordedCommit(members) };
        }
    }

    /// <summary>
    /// The members that may be read, by name; every other entry is a problem: an unsafe name, a second member of one
    /// name, a link, an encrypted member, or one that declares more bytes than its kind may have.
    /// </summary>
    private static Dictionary<string, ZipArchiveEntry> SafeMembers(ZipArchive zip, List<string> problems)
    {
        var members = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries)
        {
            var name = entry.FullName;
            var shown = Printable(name);
            if (!seen.Add(name))
            {
                problems.Add($"{shown}: member appears twice in the archive");
                members.Remove(name);
                continue;
            }
            if (UnsafeName(name) is { } why) { problems.Add($"{shown}: unsafe member name ({why}); not read"); continue; }
            if (name.EndsWith('/')) continue; // a folder entry
            // Unix mode in the high half of the external attributes: S_IFLNK is a symbolic link.
            if (((entry.ExternalAttributes >> 16) & 0xF000) == 0xA000) { problems.Add($"{shown}: is a symbolic link; not read"); continue; }
            if (entry.IsEncrypted) { problems.Add($"{shown}: is encrypted; not read"); continue; }
            var cap = Cap(name);
            if (entry.Length > cap)
            {
                problems.Add($"{shown}: declares {entry.Length} bytes, more than the {cap} allowed for a {ExperimentArchive.MediaType(name)} member; not read");
                continue;
            }
            members[name] = entry;
        }
        return members;
    }

    /// <summary>Why a member name is unsafe to use as a path, or null.</summary>
    internal static string? UnsafeName(string name)
    {
        if (name.Length == 0) return "empty";
        if (name.Length > 1024) return "longer than 1024 characters";
        if (name.Any(c => char.IsControl(c))) return "control characters";
        if (name.Contains('\\')) return "a backslash";
        if (name.StartsWith('/') || (name.Length >= 2 && name[1] == ':')) return "an absolute path";
        var parts = name.TrimEnd('/').Split('/');
        if (parts.Any(p => p is ".." or ".")) return "a '..' or '.' part";
        if (parts.Any(p => p.Length == 0)) return "an empty part";
        return null;
    }

    private static string Printable(string name) =>
        name.Any(char.IsControl) ? JsonSerializer.Serialize(name) : name;

    private static long Cap(string name) => ExperimentArchive.MediaType(name) switch
    {
        "image/png" or "application/pdf" or "image/svg+xml" => MaxFigureBytes,
        "application/vnd.apache.parquet" => MaxDataBytes,
        "text/plain" when !name.StartsWith(ArchiveLayout.ExperimentPrefix + "/", StringComparison.Ordinal)
                          && !name.StartsWith(ArchiveLayout.ExternalPrefix + "/", StringComparison.Ordinal) => MaxMetadataBytes,
        "text/plain" => MaxFigureBytes, // input texts
        _ => MaxMetadataBytes,
    };

    /// <summary>A small member's bytes (metadata: at most <see cref="MaxMetadataBytes"/>), or null when absent.</summary>
    internal static byte[]? ReadMember(Dictionary<string, ZipArchiveEntry> members, string name)
    {
        if (!members.TryGetValue(name, out var entry)) return null;
        if (entry.Length > MaxMetadataBytes) throw new InvalidDataException($"{name} declares {entry.Length} bytes, too many for metadata");
        using var s = new BoundedStream(entry);
        using var ms = new MemoryStream((int)entry.Length);
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>File entities of the crate that carry a sha256, by member name.</summary>
    private static Dictionary<string, string> CrateChecksums(Dictionary<string, ZipArchiveEntry> members, List<string> problems, out bool readable)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        readable = false;
        byte[]? bytes;
        try { bytes = ReadMember(members, ExperimentArchive.CrateName); }
        catch (InvalidDataException ex)
        {
            problems.Add($"{ExperimentArchive.CrateName}: cannot be read ({ex.Message})");
            return result;
        }
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
    private static Dictionary<string, string> CheckSums(Dictionary<string, ZipArchiveEntry> members, Dictionary<string, string> actual, Dictionary<string, string> crate, List<string> problems)
    {
        var listed = new Dictionary<string, string>(StringComparer.Ordinal);
        byte[]? bytes;
        try { bytes = ReadMember(members, ExperimentArchive.SumsName); }
        catch (InvalidDataException ex)
        {
            problems.Add($"{ExperimentArchive.SumsName}: cannot be read ({ex.Message})");
            return listed;
        }
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
                if (!members.ContainsKey(name) && !crate.ContainsKey(name))
                    problems.Add($"{ExperimentArchive.SumsName}: lists '{Printable(name)}', which is not in the archive (or the list was changed)");
                else if (!members.ContainsKey(name) && UnsafeName(name) is null)
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

    /// <summary>Runs the Figures stage on the archived metrics Parquet files and compares the results.</summary>
    private static int RegenerateFigures(Dictionary<string, ZipArchiveEntry> members, List<string> problems, List<string> notRegenerated, TextWriter log)
    {
        Experiment experiment;
        try
        {
            experiment = ExperimentFromRunManifest(ReadMember(members, ExperimentArchive.RunManifestName)
                ?? throw new InvalidDataException("missing from the archive"));
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or ArgumentException or NullReferenceException)
        {
            problems.Add($"{ExperimentArchive.RunManifestName}: cannot tell which figures to regenerate ({ex.Message})");
            return 0;
        }
        var temp = Directory.CreateTempSubdirectory("tta-verify-").FullName;
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
                    var archived = members.Where(x => x.Key.StartsWith(prefix, StringComparison.Ordinal))
                        .ToDictionary(x => x.Key, x => x.Value, StringComparer.Ordinal);
                    var figuresUnit = new FiguresUnit(ws, experiment, m, t);
                    if (OtherCode(members, ws, figuresUnit, FiguresStage.CodeVersion) is { } other)
                    {
                        notRegenerated.Add($"figures of {key}: drawn by {other}, this tta draws {FiguresStage.CodeVersion}");
                        log.WriteLine($"figures of {key} were drawn by {other} and this tta draws {FiguresStage.CodeVersion}: checksummed, not regenerated");
                        continue;
                    }
                    // Every metrics file a figure kind reads (similarity.parquet, attention.parquet, …).
                    var parquet = $"cache/metrics/{key}/similarity.parquet";
                    var missing = false;
                    foreach (var kind in experiment.Figures.Kinds)
                    {
                        var unit = MetricKinds.Find(kind)?.Unit(ws, experiment, m, t);
                        if (unit is null)
                        {
                            problems.Add($"{ExperimentArchive.RunManifestName}: figure kind '{kind}' is not one this tta knows ({string.Join(", ", MetricKinds.Names)})");
                            missing = true;
                            continue;
                        }
                        var file = Path.GetFileName(unit.OutputPath);
                        var member = $"cache/metrics/{key}/{file}";
                        if (!members.TryGetValue(member, out var entry))
                        {
                            problems.Add($"{member}: missing from the archive, so the figures of {key} cannot be regenerated");
                            missing = true;
                            continue;
                        }
                        try
                        {
                            Extract(entry, unit.OutputPath, temp);
                        }
                        catch (InvalidDataException ex)
                        {
                            problems.Add($"{member}: cannot be read from the zip ({ex.Message})");
                            missing = true;
                        }
                    }
                    if (missing) continue;
                    IReadOnlyList<string> regenerated;
                    try
                    {
                        regenerated = figuresUnit.Run(context);
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
                        bool same;
                        try { same = SameBytes(path, entry); }
                        catch (InvalidDataException) { same = false; }
                        if (!same) problems.Add($"{name}: differs from the figure regenerated from {parquet}");
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
    /// The code version recorded in the archived manifest of <paramref name="unit"/> (<paramref name="ws"/>: the
    /// verification workspace) when it is not <paramref name="current"/>, or when a parameter that is code as well
    /// (<paramref name="codeParam"/>: name and canonical JSON value) was another: this tta would make other bytes, so
    /// there is nothing to compare with. Null when they agree, or when no readable version is recorded (regenerating
    /// then reports what differs).
    /// </summary>
    internal static string? OtherCode(Dictionary<string, ZipArchiveEntry> members, Workspace ws, StageUnit unit, string current,
        (string Name, string Value)? codeParam = null)
    {
        var member = "cache/" + Path.GetRelativePath(ws.CacheDir, unit.ManifestPath).Replace('\\', '/');
        try
        {
            if (ReadMember(members, member) is not { } bytes || JsonNode.Parse(bytes)?["components"] is not JsonObject components) return null;
            var code = components["code"]?.GetValue<string>();
            if (code is not null && code != current) return code;
            // A parameter that is code too (the explorer's page assets): the same version with other assets.
            if (codeParam is { } p && components["param:" + p.Name]?.GetValue<string>() is { } recorded && recorded != p.Value)
                return $"{code ?? current} with other {p.Name} ({Shorten(recorded)}, this tta's {Shorten(p.Value)})";
            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Shorten(string json) => json.Trim('"') is var v && v.Length > 12 ? v[..12] + "…" : json.Trim('"');

    /// <summary>The git commit of the tta that made the archive, as its run manifest records it; null if none.</summary>
    private static string? RecordedCommit(Dictionary<string, ZipArchiveEntry> members)
    {
        try
        {
            return ReadMember(members, ExperimentArchive.RunManifestName) is { } bytes
                ? JsonNode.Parse(bytes)?["git"]?["commit"]?.GetValue<string>()
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Streams a member into <paramref name="path"/>, which must lie inside <paramref name="temp"/>.</summary>
    internal static void Extract(ZipArchiveEntry entry, string path, string temp)
    {
        if (!Workspace.IsUnder(path, temp)) throw new InvalidOperationException($"refusing to write {path}: outside the verification folder {temp}");
        AtomicFile.Write(path, target =>
        {
            using var source = new BoundedStream(entry);
            // One buffer no larger than the member (most are a few KB), none in the file stream.
            source.CopyTo(target, (int)Math.Clamp(entry.Length, 4096, 1 << 20));
        }, bufferSize: 0);
    }

    /// <summary>Whether a file and a member hold the same bytes, compared in chunks.</summary>
    internal static bool SameBytes(string path, ZipArchiveEntry entry)
    {
        using var mine = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (mine.Length != entry.Length) return false;
        using var theirs = new BoundedStream(entry);
        var a = new byte[1 << 16];
        var b = new byte[1 << 16];
        while (true)
        {
            var n = mine.ReadAtLeast(a, a.Length, throwOnEndOfStream: false);
            var k = theirs.ReadAtLeast(b, b.Length, throwOnEndOfStream: false);
            if (n != k || !a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, k))) return false;
            if (n == 0) return true;
        }
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
        var metrics = e["metrics"].Deserialize<MetricsSpec>(new JsonSerializerOptions(Redaction.Json) { Converters = { new MetricsSpecJsonConverter(MetricKinds.All) } })
            ?? new MetricsSpec(new Dictionary<string, object>());
        return new Experiment(Key(e["name"], "experiment name"), file, models, texts,
            new ExtractSpec([], null, 0, null), metrics, figures, e["license"]?.GetValue<string>() ?? Experiment.DefaultLicense);
    }
}
