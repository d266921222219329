using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tta.Archive;

/// <summary>Verify's first check: every member's SHA-256 against <c>SHA256SUMS</c> and <c>ro-crate-metadata.json</c>.</summary>
public static partial class ArchiveChecksums
{
    [GeneratedRegex("^([0-9a-f]{64}) [ *](.+)$")]
    private static partial Regex SumsLine();

    /// <summary>Adds a problem per member whose SHA-256 is missing or differs; returns the number of members hashed.</summary>
    public static int Check(ArchiveMembers members, List<string> problems, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(members);
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
        return actual.Count;
    }

    /// <summary>A checksum listing's bytes (the crate or SHA256SUMS); null, with the problem added, when it is missing or unreadable.</summary>
    private static byte[]? ReadListing(ArchiveMembers members, string name, List<string> problems)
    {
        try
        {
            if (members.Read(name) is { } bytes) return bytes;
            problems.Add($"{name}: missing from the archive");
        }
        catch (InvalidDataException ex)
        {
            problems.Add($"{name}: cannot be read ({ex.Message})");
        }
        return null;
    }

    /// <summary>File entities of the crate that carry a sha256, by member name.</summary>
    private static Dictionary<string, string> CrateChecksums(ArchiveMembers members, List<string> problems, out bool readable)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        readable = false;
        if (ReadListing(members, ExperimentArchive.CrateName, problems) is not { } bytes) return result;
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
    private static Dictionary<string, string> CheckSums(ArchiveMembers members, Dictionary<string, string> actual, Dictionary<string, string> crate, List<string> problems)
    {
        var listed = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ReadListing(members, ExperimentArchive.SumsName, problems) is not { } bytes) return listed;
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
                    problems.Add($"{ExperimentArchive.SumsName}: lists '{ArchiveMembers.Printable(name)}', which is not in the archive (or the list was changed)");
                else if (!members.ContainsKey(name) && ArchiveMembers.UnsafeName(name) is null)
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
}
