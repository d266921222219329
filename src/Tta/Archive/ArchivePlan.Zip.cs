using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using static Tta.Archive.ExperimentArchive;

namespace Tta.Archive;

/// <summary>The zip itself: members read, rewritten, checked and hashed, then the crate metadata and SHA256SUMS.</summary>
internal sealed partial class ArchivePlan
{
    /// <summary>Reads, rewrites (text members), checks and hashes a member's bytes.</summary>
    private byte[] Content(Member m)
    {
        var bytes = m.Read();
        if (m.ExpectedSha256 is not null && Convert.ToHexStringLower(SHA256.HashData(bytes)) != m.ExpectedSha256)
        {
            // The fast check (size and time) missed it: the unit is marked, so the next run rebuilds it.
            if (m.UnitManifest is not null && UnitManifest.TryRead(m.UnitManifest) is { } manifest)
                StageRunner.MarkInvalid(m.UnitManifest, manifest, $"{m.Name} has content other than its recorded sha256 (found while archiving)");
            throw new InvalidOperationException(
                $"{m.Name} changed since its stage unit recorded it (its sha256 differs); that unit is now marked stale — " +
                "run ./build.sh --target=Archive again to rebuild it and archive (./build.sh --verify re-hashes every output and rebuilds what changed)");
        }
        var original = bytes;
        var relaid = false;
        if (m.IsJson)
        {
            var json = JsonNode.Parse(bytes)!;
            if (m.Kind == "unit-manifest") relaid = ToArchiveLayout(json);
            bytes = Redaction.ToBytes(redaction.Rewrite(json)!);
        }
        else if (m.IsText)
            bytes = Encoding.UTF8.GetBytes(redaction.Rewrite(Encoding.UTF8.GetString(bytes)));
        if (m.IsText && bytes.AsSpan().SequenceEqual(original)) bytes = original;
        var findings = redaction.Findings(bytes).ToList();
        if (findings.Count > 0)
            throw new InvalidOperationException($"{m.Name} contains {string.Join(" and ", findings)} and cannot be rewritten (it is binary); refusing to archive it");
        written[m.Name] = (Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length, m.IsText && !ReferenceEquals(bytes, original), relaid);
        return bytes;
    }

    /// <summary>Data members in ordinal name order, then the crate metadata, then SHA256SUMS.</summary>
    public void WriteZip(Stream stream)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true, Encoding.UTF8);
        var ordered = members.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        foreach (var m in ordered) Put(zip, m.Name, Content(m));
        var crate = Redaction.ToBytes(redaction.Rewrite(Crate(ordered))!);
        Put(zip, CrateName, Checked(CrateName, crate));
        written[CrateName] = (Convert.ToHexStringLower(SHA256.HashData(crate)), crate.Length, false, false);
        var sums = new StringBuilder();
        foreach (var name in ordered.Select(m => m.Name).Append(CrateName))
            sums.Append(written[name].Sha256).Append("  ").Append(name).Append('\n');
        Put(zip, SumsName, Checked(SumsName, Encoding.UTF8.GetBytes(sums.ToString())));
    }

    private byte[] Checked(string name, byte[] bytes)
    {
        var findings = redaction.Findings(bytes).ToList();
        return findings.Count == 0 ? bytes : throw new InvalidOperationException($"{name} would contain {string.Join(" and ", findings)}");
    }

    private void Put(ZipArchive zip, string name, byte[] bytes)
    {
        var stored = ExperimentArchive.MediaType(name) is "image/png" or "application/vnd.apache.parquet";
        var entry = zip.CreateEntry(name, stored ? CompressionLevel.NoCompression : CompressionLevel.Optimal);
        entry.LastWriteTime = new DateTimeOffset(created);
        using var s = entry.Open();
        s.Write(bytes);
    }
}
