using Tta.Core;

namespace Tta.Download.Hub;

/// <summary>
/// Downloads what a model needs from the Hugging Face Hub into a cache laid out exactly as Python's huggingface_hub
/// lays it out (so either can use the other's downloads): config files, the weights (one file or an index and its
/// shards, safetensors preferred over pytorch_model.bin) and tokenizer files.
/// <para>
/// Flow: offline mode reads the cache only. Otherwise a commit-sha revision whose snapshot is complete needs no request;
/// else <c>GET {endpoint}/api/models/{repo}/revision/{revision}</c> gives the commit sha and the file list, and each
/// missing file gets a <c>HEAD {endpoint}/{repo}/resolve/{sha}/{file}</c> (ETag, size, CDN location) and, unless its
/// blob is cached, a GET into <c>blobs/&lt;etag&gt;.incomplete</c> that resumes with Range after failures, is checked
/// (size; sha256 for LFS files) and only then renamed into <c>blobs/</c> and linked from the snapshot.
/// </para>
/// The token is sent to the endpoint's origin only and never appears in output, messages or files.
/// </summary>
public sealed partial class HubClient : IDisposable
{
    private readonly HubSettings _settings;
    private readonly TextWriter? _progress;
    private readonly IHashLog? _hashLog;
    private readonly bool _live;
    private readonly Uri _endpoint;
    private readonly Lazy<HttpClient> _http;

    /// <param name="settings">Usually <see cref="HubSettings.FromEnvironment()"/>.</param>
    /// <param name="progress">Where progress goes (e.g. <c>Console.Error</c>); null for none.</param>
    /// <param name="progressIsTerminal">Redraw one live line (true) or write periodic plain lines (false); by default
    /// live when <paramref name="progress"/> is the console's output or error stream on an interactive terminal
    /// (<see cref="LiveConsole.IsLiveConsole"/>: not redirected, not CI, not a dumb terminal).</param>
    /// <param name="hashLog">Where the hashes of verified downloads and blobs are reported (<c>--explain</c>), or null.</param>
    public HubClient(HubSettings settings, TextWriter? progress = null, bool? progressIsTerminal = null, IHashLog? hashLog = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _progress = progress;
        _hashLog = hashLog;
        _live = progressIsTerminal ?? (progress is not null && LiveConsole.IsLiveConsole(progress));
        if (!Uri.TryCreate(settings.Endpoint.TrimEnd('/') + "/", UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new ArgumentException($"HF_ENDPOINT '{settings.Endpoint}' is not an http(s) address", nameof(settings));
        _endpoint = endpoint;
        _http = new Lazy<HttpClient>(CreateHttpClient);
    }

    public HubSettings Settings => _settings;

    private string EndpointText => _settings.Endpoint.TrimEnd('/');

    public void Dispose()
    {
        if (_http.IsValueCreated) _http.Value.Dispose();
    }

    /// <summary>
    /// Makes sure the cache holds what <paramref name="repoId"/> at <paramref name="revision"/> (branch, tag or commit
    /// sha; empty means <c>main</c>) needs and returns its snapshot folder and commit sha.
    /// </summary>
    /// <exception cref="HubException">Not found, gated, offline without the files, network or cache problems.</exception>
    public async Task<HubSnapshot> DownloadAsync(string repoId, string revision, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        HubFiles.CheckRepoId(repoId);
        revision = string.IsNullOrWhiteSpace(revision) ? "main" : revision.Trim();
        HubFiles.CheckRevision(revision);
        var repo = new RepoCache(_settings.CacheDir, repoId);

        if (_settings.Offline) return Verified(FromCacheOffline(repo, revision), repo);
        if (RepoCache.IsCommitSha(revision) && repo.ResolveLocal(revision, requireTokenizer: true) is { Files: { } cachedFiles }
            && TryVerify(repo, revision, cachedFiles) is { } cachedHashes)
            return new HubSnapshot(repoId, revision, revision, repo.SnapshotDir(revision), cachedFiles) { Sha256 = cachedHashes };

        using var progress = new DownloadProgress(_progress, _live, repoId, _settings.ProgressInterval);
        RevisionInfo info;
        try
        {
            info = await GetRevisionInfoAsync(repoId, revision, progress, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Network && FromCacheIfComplete(repo, revision) is { } cached)
        {
            progress.Note($"cannot reach {EndpointText} ({e.Message}); using the cached snapshot {cached.CommitSha}");
            return Verified(cached, repo);
        }

        var sha = info.Sha;
        var hashes = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var (files, index) = SelectFiles(info, repoId, revision);
        if (index is not null)
        {
            hashes[index] = await EnsureFileAsync(repo, revision, sha, index, progress, ct).ConfigureAwait(false);
            var shards = HubFiles.ShardsOf(ReadCached(repo, sha, index), index);
            foreach (var shard in shards)
            {
                if (!info.Files.Contains(shard))
                    throw new HubException(HubErrorKind.NotFound, $"{index} of {repoId} (revision '{revision}') lists {shard}, which is not in the repository");
                if (!files.Contains(shard)) files.Add(shard);
            }
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _settings.MaxParallelDownloads), CancellationToken = ct };
        await Parallel.ForEachAsync(files.Where(f => f != index), options,
            async (file, token) => hashes[file] = await EnsureFileAsync(repo, revision, sha, file, progress, token).ConfigureAwait(false)).ConfigureAwait(false);

        if (revision != sha && repo.ReadRef(revision) != sha)
            CacheIo(repo, () => AtomicFile.WriteAllText(repo.RefPath(revision), sha));
        return new HubSnapshot(repoId, revision, sha, repo.SnapshotDir(sha), files) { Sha256 = new Dictionary<string, string>(hashes, StringComparer.Ordinal) };
    }

    private sealed record RevisionInfo(string Sha, HashSet<string> Files);

    private static (List<string> Files, string? Index) SelectFiles(RevisionInfo info, string repoId, string revision)
    {
        if (!info.Files.Contains(HubFiles.Config))
            throw new HubException(HubErrorKind.NotFound, $"{repoId} (revision '{revision}') has no {HubFiles.Config}; is it a transformers model repository?");
        var files = new List<string> { HubFiles.Config };
        string? index = null;
        foreach (var (single, shardIndex) in HubFiles.WeightFormats)
        {
            if (info.Files.Contains(single)) { files.Add(single); break; }
            if (info.Files.Contains(shardIndex)) { files.Add(shardIndex); index = shardIndex; break; }
        }
        if (files.Count == 1)
        {
            var names = string.Join(", ", HubFiles.WeightFormats.SelectMany(w => new[] { w.Single, w.Index }));
            throw new HubException(HubErrorKind.NotFound, $"{repoId} (revision '{revision}') has no weights: none of {names}");
        }
        files.AddRange(HubFiles.Optional.Where(info.Files.Contains));
        return (files, index);
    }
}
