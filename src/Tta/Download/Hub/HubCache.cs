using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tta.Download.Hub;

/// <summary>
/// The huggingface_hub cache layout of one model repository:
/// <c>models--org--name/blobs/&lt;etag&gt;</c> (file contents, named by ETag: sha256 for LFS files, git sha1 otherwise),
/// <c>snapshots/&lt;sha&gt;/&lt;file&gt;</c> (relative symlinks to <c>../../blobs/&lt;etag&gt;</c>),
/// <c>refs/&lt;revision&gt;</c> (the commit sha a branch or tag pointed to), and
/// <c>&lt;cache&gt;/.locks/models--org--name/&lt;etag&gt;.lock</c> (what Python's filelock uses while downloading).
/// </summary>
internal sealed partial class RepoCache(string cacheDir, string repoId)
{
    public string CacheDir { get; } = cacheDir;
    public string RepoId { get; } = repoId;
    public string FolderName { get; } = "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);
    public string Folder => Path.Combine(CacheDir, FolderName);
    public string BlobsDir => Path.Combine(Folder, "blobs");
    public string BlobPath(string etag) => Path.Combine(BlobsDir, etag);
    public string SnapshotDir(string sha) => Path.Combine(Folder, "snapshots", sha);
    public string PointerPath(string sha, string file) => Path.Combine(SnapshotDir(sha), file.Replace('/', Path.DirectorySeparatorChar));
    public string RefPath(string revision) => Path.Combine(Folder, "refs", revision.Replace('/', Path.DirectorySeparatorChar));
    public string LockPath(string etag) => Path.Combine(CacheDir, ".locks", FolderName, etag + ".lock");

    public static bool IsCommitSha(string revision) => CommitSha().IsMatch(revision);

    public string? ReadRef(string revision)
    {
        try
        {
            var path = RefPath(revision);
            if (!File.Exists(path)) return null;
            var sha = File.ReadAllText(path).Trim();
            return IsCommitSha(sha) ? sha : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>True when the snapshot has <paramref name="file"/> and, if it is a symlink, its blob exists.</summary>
    public bool HasFile(string sha, string file) => File.Exists(PointerPath(sha, file));

    /// <summary>
    /// Checks that a snapshot holds what a model needs without asking the Hub: config.json and a complete set of
    /// weights (single file, or an index and every shard it lists). Returns the files present, or the first missing one.
    /// </summary>
    public (IReadOnlyList<string>? Files, string Missing) ResolveLocal(string sha, bool requireTokenizer)
    {
        if (!HasFile(sha, HubFiles.Config)) return (null, HubFiles.Config);
        var files = new List<string> { HubFiles.Config };
        var weightsFound = false;
        foreach (var (single, index) in HubFiles.WeightFormats)
        {
            if (HasFile(sha, single)) { files.Add(single); weightsFound = true; break; }
            if (!HasFile(sha, index)) continue;
            files.Add(index);
            IReadOnlyList<string> shards;
            try { shards = HubFiles.ShardsOf(File.ReadAllBytes(PointerPath(sha, index)), index); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or HubException) { return (null, index); }
            foreach (var shard in shards)
            {
                if (!HasFile(sha, shard)) return (null, shard);
                files.Add(shard);
            }
            weightsFound = true;
            break;
        }
        if (!weightsFound) return (null, HubFiles.WeightFormats[0].Single);
        foreach (var optional in HubFiles.Optional)
            if (HasFile(sha, optional)) files.Add(optional);
        if (requireTokenizer && !HubFiles.TokenizerModels.Any(t => HasFile(sha, t)))
            return (null, HubFiles.TokenizerModels[0]);
        return (files, "");
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitSha();
}
