using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Tta.Core;

/// <summary>
/// The content identity of files: the SHA-256 of what a file holds. Symbolic links are followed to the file itself
/// (a Hugging Face snapshot entry is a link to its blob), so a link's own size and time are never recorded.
/// A hash this process has computed or verified (a Hub download checks each blob while it arrives) is reused for the
/// same file while its size and modification time are unchanged, so one run reads each weight byte once.
/// Hashes are reported to the caller's <see cref="IHashLog"/> (<c>--explain</c>), if any: every verified download or
/// blob, and every file of at least <see cref="LogBytes"/> read to hash it (weights, activations), not the many small ones.
/// </summary>
public static class ContentHash
{
    private static readonly ConcurrentDictionary<string, (FileStamp Stamp, string Sha256)> Known = new(StringComparer.Ordinal);

    public const long LogBytes = 1 << 20;

    /// <summary>The file a path designates: itself, or the final target of a chain of symbolic links.</summary>
    public static string Target(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (info.LinkTarget is null) return full;
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target is null ? full : Path.GetFullPath(target.FullName);
    }

    /// <summary>Size and modification time of the file itself (links followed).</summary>
    public static FileStamp Stamp(string path)
    {
        var info = new FileInfo(Target(path));
        return info.Exists ? new FileStamp(info.FullName, info.Length, info.LastWriteTimeUtc.Ticks) : new FileStamp(info.FullName, -1, 0);
    }

    /// <summary>
    /// SHA-256 of the file's content, reusing a hash this process already has for the unchanged file;
    /// <paramref name="why"/>, when given, is reported whatever the file's size.
    /// </summary>
    public static string Sha256(string path, IHashLog? log, string? why = null)
    {
        var stamp = Stamp(path);
        if (Known.TryGetValue(stamp.Path, out var k) && k.Stamp == stamp) return k.Sha256;
        return Sha256Fresh(path, log, why);
    }

    /// <summary>SHA-256 read from the disk now, whatever is known (<c>--verify</c>).</summary>
    public static string Sha256Fresh(string path, IHashLog? log, string? why = null)
    {
        var before = Stamp(path);
        string sha;
        using (var stream = new FileStream(before.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        Remember(before, sha, $"read {Megabytes(before.Bytes)}{(why is null ? "" : ", " + why)}", why is not null || before.Bytes >= LogBytes ? log : null);
        return sha;
    }

    /// <summary>Records a hash computed elsewhere (while downloading, while verifying a blob against its name).</summary>
    public static void Remember(string path, string sha256, string how, IHashLog? log) => Remember(Stamp(path), sha256, how, log);

    private static void Remember(FileStamp stamp, string sha256, string how, IHashLog? log)
    {
        // A file that changed while it was read keeps no hash: the next use reads it again.
        if (Stamp(stamp.Path) != stamp) return;
        Known[stamp.Path] = (stamp, sha256);
        log?.Hashed(stamp.Path, sha256, how);
    }

    /// <summary>Forgets what this process knows (tests that change files behind its back).</summary>
    public static void Forget() => Known.Clear();

    private static string Megabytes(long bytes) => $"{bytes / 1e6:0.0} MB";
}
