namespace Tta.Download.Hub;

public enum HubErrorKind
{
    /// <summary>401/403: gated or private repository, or a token without access.</summary>
    Unauthorized,
    /// <summary>404: repository, revision or file does not exist.</summary>
    NotFound,
    /// <summary>Offline mode (or no network) and the cache lacks something.</summary>
    NotCached,
    /// <summary>Connection errors, time-outs, 5xx/429 that persisted through every retry, other HTTP errors.</summary>
    Network,
    /// <summary>A downloaded file kept failing its checksum or size check.</summary>
    Integrity,
    /// <summary>The cache folder cannot be written (read-only, full, a file where a folder should be).</summary>
    CacheWrite,
    /// <summary>The server's answer is not what the Hub sends (no commit sha, no ETag, bad JSON, unsafe names).</summary>
    BadResponse,
}

/// <summary>A download problem explained for the user. Messages never contain the access token.</summary>
public sealed class HubException(HubErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public HubErrorKind Kind { get; } = kind;
}

/// <summary>
/// A model snapshot in the cache: <see cref="Path"/> is <c>.../models--org--name/snapshots/&lt;sha&gt;</c>;
/// <see cref="Sha256"/> the sha256 of each file's content, checked against its blob's name in this call.
/// </summary>
public sealed record HubSnapshot(string RepoId, string Revision, string CommitSha, string Path, IReadOnlyList<string> Files)
{
    public IReadOnlyDictionary<string, string> Sha256 { get; init; } = new Dictionary<string, string>();
}
