using System.Text.Json;
using Tta.Core;

namespace Tta.Download;

/// <summary>
/// What a model conversion wrote (<c>conversion.json</c> beside the checkpoint): each file's sha256 and size,
/// written last. A checkpoint folder is adopted only when every recorded file still has its recorded content; a
/// truncated, edited or half-written one is converted again.
/// </summary>
public sealed record ConversionRecord(string Format, string Source, IReadOnlyList<ConversionRecord.FileEntry> Files)
{
    public const string FileName = "conversion.json";
    public const string CurrentFormat = "tta-conversion/1";

    public sealed record FileEntry(string Name, string Sha256, long Bytes);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Records <paramref name="files"/> (names in <paramref name="dir"/>) by content, then writes the record.</summary>
    public static ConversionRecord Write(string dir, string source, IEnumerable<string> files, IHashLog? hashLog = null)
    {
        var record = new ConversionRecord(CurrentFormat, source,
            [.. files.Select(f => new FileEntry(f, ContentHash.Sha256Fresh(Path.Combine(dir, f), hashLog), new FileInfo(Path.Combine(dir, f)).Length))]);
        AtomicFile.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(record, Json) + "\n");
        return record;
    }

    /// <summary>
    /// Null when <paramref name="dir"/> holds a conversion whose every file matches its record (their hashes are then
    /// known to <see cref="ContentHash"/>, so recording them as outputs reads nothing again); else why not.
    /// </summary>
    public static string? Mismatch(string dir, IReadOnlyCollection<string> required, IHashLog? hashLog = null)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return "no conversion record";
        ConversionRecord? record;
        try { record = JsonSerializer.Deserialize<ConversionRecord>(File.ReadAllText(path), Json); }
        catch (JsonException e) { return $"{FileName} is not valid JSON ({e.Message})"; }
        if (record is not { Format: CurrentFormat, Files: not null }) return $"{FileName} is not a conversion record of this tta";
        foreach (var name in required.Where(n => record.Files.All(f => f.Name != n))) return $"{name} is not in {FileName}";
        foreach (var f in record.Files)
        {
            var file = Path.Combine(dir, f.Name);
            if (!File.Exists(file)) return $"{f.Name} is missing";
            if (new FileInfo(file).Length != f.Bytes) return $"{f.Name} has {new FileInfo(file).Length} bytes, {f.Bytes} recorded";
            if (ContentHash.Sha256(file, hashLog) != f.Sha256) return $"{f.Name} does not have the content recorded in {FileName}";
        }
        return null;
    }
}
