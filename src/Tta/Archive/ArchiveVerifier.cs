using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

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
public static class ArchiveVerifier
{
    public static VerifyReport Verify(string archivePath, TextWriter log, VerifyOptions? options = null)
    {
        var problems = new List<string>();
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(archivePath); }
        catch (InvalidDataException ex) { return new VerifyReport([$"{Path.GetFileName(archivePath)}: not a readable zip archive ({ex.Message})"], 0, 0); }
        using (zip)
        {
            var members = ArchiveMembers.Open(zip, options ?? VerifyOptions.Default, problems);
            var hashed = ArchiveChecksums.Check(members, problems, log);
            var notRegenerated = new List<string>();
            var compared = FigureCheck.Verify(members, problems, notRegenerated, log);
            ExplorerCheck.Verify(members, problems, notRegenerated, log);
            return new VerifyReport(problems, hashed, compared) { NotRegenerated = notRegenerated, MadeBy = RecordedCommit(members) };
        }
    }

    /// <summary>The git commit of the tta that made the archive, as its run manifest records it; null if none.</summary>
    private static string? RecordedCommit(ArchiveMembers members)
    {
        try
        {
            return members.Read(ExperimentArchive.RunManifestName) is { } bytes
                ? JsonNode.Parse(bytes)?["git"]?["commit"]?.GetValue<string>()
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException)
        {
            return null;
        }
    }
}
