using System.IO.Compression;
using Tta.Core;
using System.Text.Json;
using Tta.Cache;

namespace Tta.Archive;

/// <summary>
/// The members of an archive that may be read, by name (<see cref="Open"/> leaves out, as problems, every entry that
/// is unsafe to read), and how they are read: streamed, within the size they declare and the cap of their kind
/// (<see cref="VerifyOptions"/>), and written nowhere but one verification folder.
/// </summary>
public sealed class ArchiveMembers(VerifyOptions options) : Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal)
{
    public VerifyOptions Options { get; } = options;

    /// <summary>
    /// The members that may be read, by name; every other entry is a problem: an unsafe name, a second member of one
    /// name, a link, an encrypted member, or one that declares more bytes than its kind may have.
    /// </summary>
    public static ArchiveMembers Open(ZipArchive zip, VerifyOptions options, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(zip);
        var members = new ArchiveMembers(options);
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
            var cap = options.Cap(name);
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
    public static string? UnsafeName(string name)
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

    internal static string Printable(string name) =>
        name.Any(char.IsControl) ? JsonSerializer.Serialize(name) : name;

    /// <summary>A small member's bytes (metadata: at most <see cref="VerifyOptions.MaxMetadataBytes"/>), or null when absent.</summary>
    public byte[]? Read(string name)
    {
        if (!TryGetValue(name, out var entry)) return null;
        if (entry.Length > Options.MaxMetadataBytes) throw new InvalidDataException($"{name} declares {entry.Length} bytes, too many for metadata");
        using var s = new BoundedStream(entry);
        using var ms = new MemoryStream((int)entry.Length);
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Streams a member into <paramref name="path"/>, which must lie inside <paramref name="temp"/>.</summary>
    public static void Extract(ZipArchiveEntry entry, string path, string temp)
    {
        if (!Workspace.IsUnder(path, temp)) throw new InvalidOperationException($"refusing to write {path}: outside the verification folder {temp}");
        AtomicFile.Write(path, target =>
        {
            using var source = new BoundedStream(entry);
            // One buffer no larger than the member (most are a few KB), none in the file stream.
            source.CopyTo(target, (int)Math.Clamp(entry.Length, 4096, 1 << 20));
        }, bufferSize: 0);
    }

    /// <summary>
    /// Compares files Verify rebuilt (<paramref name="rebuilt"/>: member name and path) with the members they must
    /// equal, byte for byte, taking each out of <paramref name="archived"/>. Adds <c>NAME: missing</c> for a rebuilt
    /// file the archive lacks, <c>NAME: differs</c> for one whose bytes differ (or cannot be read) and
    /// <c>NAME: notRebuilt</c> for each archived member left over. Returns how many files were compared.
    /// </summary>
    public static int CompareRebuilt(IEnumerable<(string Name, string Path)> rebuilt, Dictionary<string, ZipArchiveEntry> archived,
        List<string> problems, (string Missing, string Differs, string NotRebuilt) say)
    {
        var compared = 0;
        foreach (var (name, path) in rebuilt)
        {
            compared++;
            if (!archived.Remove(name, out var entry))
                problems.Add($"{name}: {say.Missing}");
            else if (!SameBytesOrUnreadable(path, entry))
                problems.Add($"{name}: {say.Differs}");
        }
        foreach (var name in archived.Keys)
            problems.Add($"{name}: {say.NotRebuilt}");
        return compared;
    }

    private static bool SameBytesOrUnreadable(string path, ZipArchiveEntry entry)
    {
        try { return SameBytes(path, entry); }
        catch (InvalidDataException) { return false; }
    }

    /// <summary>Whether a file and a member hold the same bytes, compared in chunks.</summary>
    public static bool SameBytes(string path, ZipArchiveEntry entry)
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
}
