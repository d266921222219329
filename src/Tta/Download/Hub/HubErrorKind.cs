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
