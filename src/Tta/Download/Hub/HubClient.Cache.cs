using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Tta.Core;

namespace Tta.Download.Hub;

// The cache: content checks of cached files (each blob against its name), snapshots served from the cache alone,
// and cache writes.
public sealed partial class HubClient
{
    /// <summary>
    /// A snapshot served from the cache without the Hub: every file is checked against its blob's name, and a blob
    /// that does not match is an error (nothing can replace it without the network).
    /// </summary>
    private HubSnapshot Verified(HubSnapshot snapshot, RepoCache repo)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in snapshot.Files)
        {
            var (sha256, problem) = CheckCached(repo, snapshot.CommitSha, file);
            if (problem is not null)
                throw new HubException(HubErrorKind.Integrity,
                    $"{file} of {repo.RepoId} (commit {snapshot.CommitSha}) in the cache at {repo.Folder}: {problem}. It was changed or damaged; " +
                    "delete that blob and download it again (HF_HUB_OFFLINE unset, with network access)");
            hashes[file] = sha256;
        }
        return snapshot with { Sha256 = hashes };
    }

    /// <summary>The files' verified sha256, or null when one of them does not match its blob's name.</summary>
    private Dictionary<string, string>? TryVerify(RepoCache repo, string sha, IEnumerable<string> files)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var (sha256, problem) = CheckCached(repo, sha, file);
            if (problem is not null) return null;
            hashes[file] = sha256;
        }
        return hashes;
    }

    /// <summary>
    /// Checks a cached file by its content: the blob a snapshot entry links to is named by its ETag, the sha256 of an
    /// LFS file or the git blob sha1 of a small one, so the content must hash to the name. Returns the content's
    /// sha256 (read once per process, see <see cref="ContentHash"/>) and what is wrong, if anything.
    /// </summary>
    private (string Sha256, string? Problem) CheckCached(RepoCache repo, string sha, string file) =>
        CheckBlob(ContentHash.Target(repo.PointerPath(sha, file)));

    private (string Sha256, string? Problem) CheckBlob(string blob)
    {
        var name = Path.GetFileName(blob);
        if (GitSha1Hex().IsMatch(name))
        {
            var (sha256, sha1) = HashWithGitSha1(blob);
            return (sha256, sha1 == name ? null : $"the blob {blob} holds content whose git blob sha1 is {sha1}, not its name");
        }
        var content = ContentHash.Sha256(blob, _hashLog, "to check it against its blob name");
        return (content, Sha256Hex().IsMatch(name) && content != name ? $"the blob {blob} holds content whose sha256 is {content}, not its name" : null);
    }

    /// <summary>sha256 and git blob sha1 (<c>sha1("blob N\0" + content)</c>) of a file in one read.</summary>
    private (string Sha256, string GitSha1) HashWithGitSha1(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(System.Text.Encoding.ASCII.GetBytes($"blob {stream.Length.ToString(CultureInfo.InvariantCulture)}\0"));
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            for (int n; (n = stream.Read(buffer, 0, buffer.Length)) > 0;)
            {
                sha256.AppendData(buffer, 0, n);
                sha1.AppendData(buffer, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        var content = Convert.ToHexStringLower(sha256.GetHashAndReset());
        ContentHash.Remember(path, content, "read to check it against its blob name (git blob sha1)", _hashLog);
        return (content, Convert.ToHexStringLower(sha1.GetHashAndReset()));
    }

    // ---------------------------------------------------------------- cache only

    private HubSnapshot FromCacheOffline(RepoCache repo, string revision)
    {
        var sha = RepoCache.IsCommitSha(revision) ? revision : repo.ReadRef(revision);
        if (sha is null)
            throw new HubException(HubErrorKind.NotCached,
                $"offline mode (HF_HUB_OFFLINE=1): revision '{revision}' of {repo.RepoId} is not in the cache at {repo.Folder} " +
                $"(no file refs/{revision}); download it once online, or use a commit sha that is cached");
        var (files, missing) = repo.ResolveLocal(sha, requireTokenizer: false);
        if (files is null)
            throw new HubException(HubErrorKind.NotCached,
                $"offline mode (HF_HUB_OFFLINE=1): file {missing} of {repo.RepoId} (revision '{revision}', commit {sha}) is not in the cache at " +
                $"{repo.SnapshotDir(sha)}; download it once online (HF_HUB_OFFLINE unset) or set HF_HUB_CACHE to the cache that has it");
        return new HubSnapshot(repo.RepoId, revision, sha, repo.SnapshotDir(sha), files);
    }

    private static HubSnapshot? FromCacheIfComplete(RepoCache repo, string revision)
    {
        var sha = RepoCache.IsCommitSha(revision) ? revision : repo.ReadRef(revision);
        if (sha is null) return null;
        var (files, _) = repo.ResolveLocal(sha, requireTokenizer: false);
        return files is null ? null : new HubSnapshot(repo.RepoId, revision, sha, repo.SnapshotDir(sha), files);
    }

    private static byte[] ReadCached(RepoCache repo, string sha, string file)
    {
        try { return File.ReadAllBytes(repo.PointerPath(sha, file)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HubException(HubErrorKind.CacheWrite, $"cannot read {repo.PointerPath(sha, file)}: {e.Message}", e);
        }
    }

    private static T Disk<T>(Func<T> action)
    {
        try { return action(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CacheWriteFailure(e); }
    }

    private static void Disk(Action action) => Disk(() => { action(); return 0; });

    private static void CacheIo(RepoCache repo, Action action)
    {
        try { action(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw CacheError(repo, e); }
    }

    private static HubException CacheError(RepoCache repo, Exception e) =>
        new(HubErrorKind.CacheWrite,
            $"cannot write to the Hugging Face cache {repo.CacheDir} (for {repo.RepoId}): {e.Message}. " +
            "Make sure the folder is writable and has free space, or set HF_HUB_CACHE to another folder.", e);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
