using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    // ---------------------------------------------------------------- content checks

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

    // ---------------------------------------------------------------- what to fetch

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

    // ---------------------------------------------------------------- requests

    private sealed record ErrorContext(string RepoId, string Revision, string? File);

    private sealed record FileMeta(string Etag, long? Size, Uri DownloadUrl);

    private HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = _settings.MetadataTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("tta-hub", "1.0"));
        return http;
    }

    private Uri ApiUrl(string repoId, string revision) =>
        new($"{EndpointText}/api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}");

    private Uri ResolveUrl(string repoId, string sha, string file) =>
        new($"{EndpointText}/{repoId}/resolve/{sha}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    private async Task<RevisionInfo> GetRevisionInfoAsync(string repoId, string revision, DownloadProgress progress, CancellationToken ct)
    {
        var context = new ErrorContext(repoId, revision, null);
        return await RequestAsync(HttpMethod.Get, ApiUrl(repoId, revision), context, progress, async (response, token) =>
        {
            if (!response.IsSuccessStatusCode) throw MapError(response, context);
            var body = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            return ParseRevisionInfo(body, repoId, revision);
        }, ct).ConfigureAwait(false);
    }

    private RevisionInfo ParseRevisionInfo(byte[] body, string repoId, string revision)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var sha = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sha", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (sha is null || !RepoCache.IsCommitSha(sha))
                throw new HubException(HubErrorKind.BadResponse, $"{EndpointText} answered for {repoId} (revision '{revision}') without a commit sha; is HF_ENDPOINT a Hugging Face Hub?");
            var files = new HashSet<string>(StringComparer.Ordinal);
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
                foreach (var sibling in siblings.EnumerateArray())
                    if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out var name) && name.GetString() is { } file)
                        files.Add(file);
            return new RevisionInfo(sha, files);
        }
        catch (JsonException e)
        {
            throw new HubException(HubErrorKind.BadResponse, $"{EndpointText} answered for {repoId} (revision '{revision}') with invalid JSON: {e.Message}", e);
        }
    }

    private async Task<FileMeta> HeadAsync(string repoId, string revision, string sha, string file, DownloadProgress progress, CancellationToken ct)
    {
        var context = new ErrorContext(repoId, revision, file);
        return await RequestAsync(HttpMethod.Head, ResolveUrl(repoId, sha, file), context, progress, (response, _) =>
        {
            var code = (int)response.StatusCode;
            if (code is < 200 or >= 400) throw MapError(response, context);
            var etag = NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
            if (etag is null || !SafeEtag().IsMatch(etag))
                throw new HubException(HubErrorKind.BadResponse, $"{EndpointText} sent no usable ETag for {file} of {repoId}; is HF_ENDPOINT a Hugging Face Hub?");
            long? size = long.TryParse(Header(response, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var linked) ? linked
                : code < 300 ? response.Content.Headers.ContentLength : null;
            var final = response.RequestMessage?.RequestUri ?? ResolveUrl(repoId, sha, file);
            var download = code >= 300 && response.Headers.Location is { } location ? new Uri(final, location) : final;
            return Task.FromResult(new FileMeta(etag, size, download));
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// One metadata request with retries on connection errors, time-outs, 5xx and 429 (exponential backoff, bounded);
    /// <paramref name="handle"/> gets every other answer, including errors, and runs under the same time limit.
    /// </summary>
    private async Task<T> RequestAsync<T>(HttpMethod method, Uri url, ErrorContext context, DownloadProgress progress,
        Func<HttpResponseMessage, CancellationToken, Task<T>> handle, CancellationToken ct)
    {
        var attempts = Math.Max(1, _settings.MaxAttempts);
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            TimeSpan? retryAfter = null;
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(_settings.MetadataTimeout);
                using var response = await SendAsync(method, url, null, followAbsolute: false, cts.Token).ConfigureAwait(false);
                if (!IsRetryable(response.StatusCode))
                    return await handle(response, cts.Token).ConfigureAwait(false);
                failure = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                retryAfter = RetryAfter(response);
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                failure = Describe(e, _settings.MetadataTimeout);
            }
            var what = context.File is null ? $"{context.RepoId} (revision '{context.Revision}')" : $"{context.File} of {context.RepoId}";
            if (attempt >= attempts)
                throw new HubException(HubErrorKind.Network, $"cannot get {what} from {EndpointText}: {failure} (tried {attempt} times)");
            progress.Note($"{what}: {failure}; retrying ({attempt}/{attempts})");
            await Task.Delay(Backoff(attempt, retryAfter), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends one request, following redirects (at most 10): relative ones always (renamed repositories), absolute ones
    /// (CDN) only when <paramref name="followAbsolute"/>. The token goes only to the endpoint's origin.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, long? rangeFrom, bool followAbsolute, CancellationToken ct)
    {
        var current = url;
        for (var hop = 0; ; hop++)
        {
            var request = new HttpRequestMessage(method, current);
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
            if (_settings.Token is { Length: > 0 } token && SameOrigin(current, _endpoint))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (rangeFrom is long from) request.Headers.Range = new RangeHeaderValue(from, null);
            var response = await _http.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            if (code is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } location)
                return response;
            if (location.IsAbsoluteUri && !followAbsolute) return response;
            var next = location.IsAbsoluteUri ? location : new Uri(current, location);
            response.Dispose();
            if (next.Scheme is not ("http" or "https"))
                throw new HubException(HubErrorKind.BadResponse, $"{EndpointText} redirected to a non-http address");
            if (hop >= 10) throw new HubException(HubErrorKind.Network, $"too many redirects from {EndpointText}");
            current = next;
        }
    }

    private HubException MapError(HttpResponseMessage response, ErrorContext context)
    {
        var code = (int)response.StatusCode;
        var errorCode = Header(response, "X-Error-Code");
        var what = context.File is null
            ? $"{context.RepoId} (revision '{context.Revision}')"
            : $"{context.File} of {context.RepoId} (revision '{context.Revision}')";
        switch (code)
        {
            case 401 or 403:
                var gated = $"model is gated or private: set HF_TOKEN (a token from your Hugging Face settings with access to {context.RepoId})";
                var sent = _settings.Token is { Length: > 0 } ? "; the token that was sent was refused or has no access to it" : "";
                var lead = errorCode == "RepoNotFound" ? $"repository {context.RepoId} not found on {EndpointText}, or the " : $"{what}: HTTP {code}: ";
                return new HubException(HubErrorKind.Unauthorized, lead + gated + sent);
            case 404:
                var message = errorCode switch
                {
                    "RevisionNotFound" => $"revision '{context.Revision}' not found in {context.RepoId} on {EndpointText}",
                    "RepoNotFound" => $"repository {context.RepoId} not found on {EndpointText}",
                    _ when context.File is not null => $"file {context.File} not found in {context.RepoId} (revision '{context.Revision}') on {EndpointText}",
                    _ => $"repository {context.RepoId} or its revision '{context.Revision}' not found on {EndpointText}",
                };
                return new HubException(HubErrorKind.NotFound, message);
            default:
                return new HubException(HubErrorKind.Network, $"{what}: HTTP {code} {response.ReasonPhrase} from {EndpointText}");
        }
    }

    private static bool IsRetryable(HttpStatusCode status) => (int)status is 429 or >= 500;

    private static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException => !ct.IsCancellationRequested,
        HttpRequestException or IOException or TransientFailure or TimeoutException => true,
        _ => false,
    };

    private static string Describe(Exception e, TimeSpan timeout) => e switch
    {
        OperationCanceledException => $"no answer within {timeout.TotalSeconds:0.###} s",
        HttpRequestException { InnerException: { } inner } h when !h.Message.Contains(inner.Message, StringComparison.Ordinal) => $"{h.Message} ({inner.Message})",
        _ => e.Message,
    };

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);

    private TimeSpan Backoff(int failures, TimeSpan? retryAfter)
    {
        var ms = _settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20));
        var delay = TimeSpan.FromMilliseconds(Math.Min(ms, _settings.RetryMaxDelay.TotalMilliseconds));
        if (retryAfter is { } wait && wait > delay) delay = wait < _settings.RetryMaxDelay ? wait : _settings.RetryMaxDelay;
        return delay;
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    /// <summary>As huggingface_hub: drop a weak-validator prefix and the quotes.</summary>
    private static string? NormalizeEtag(string? etag)
    {
        if (etag is null) return null;
        etag = etag.Trim();
        if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
        etag = etag.Trim('"');
        return etag.Length == 0 ? null : etag;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
    private static partial Regex SafeEtag();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex GitSha1Hex();

    /// <summary>A failure worth retrying that is not an exception of the HTTP stack (5xx, cut-short body).</summary>
    private sealed class TransientFailure(string message) : Exception(message);

    /// <summary>Writing the cache failed: not retried, the partial file is removed.</summary>
    private sealed class CacheWriteFailure(Exception inner) : Exception(inner.Message, inner);

    // ---------------------------------------------------------------- files

    /// <summary>
    /// Makes sure the snapshot has <paramref name="file"/> with content that matches its blob's name (a cached blob
    /// that does not is downloaded again) and returns the content's sha256.
    /// </summary>
    private async Task<string> EnsureFileAsync(RepoCache repo, string revision, string sha, string file, DownloadProgress progress, CancellationToken ct)
    {
        if (repo.HasFile(sha, file))
        {
            var (cached, problem) = CheckCached(repo, sha, file);
            if (problem is null) return cached;
            progress.Note($"{file}: {problem}; it was changed or damaged, downloading it again");
            var damaged = ContentHash.Target(repo.PointerPath(sha, file));
            CacheIo(repo, () =>
            {
                File.Delete(repo.PointerPath(sha, file));
                if (damaged != repo.PointerPath(sha, file)) File.Delete(damaged);
            });
        }
        var meta = await HeadAsync(repo.RepoId, revision, sha, file, progress, ct).ConfigureAwait(false);
        var blob = repo.BlobPath(meta.Etag);
        await using (var held = await LockAsync(repo, meta.Etag, file, progress, ct).ConfigureAwait(false))
        {
            // A blob another snapshot (or another process) brought is checked like any cached one.
            if (File.Exists(blob) && CheckBlob(blob).Problem is { } problem)
            {
                progress.Note($"{file}: {problem}; downloading it again");
                CacheIo(repo, () => File.Delete(blob));
            }
            if (!File.Exists(blob))
                await DownloadBlobAsync(repo, revision, file, meta, progress, ct).ConfigureAwait(false);
        }
        Link(repo, sha, file, blob);
        return ContentHash.Sha256(blob, _hashLog); // known: computed while it downloaded or when it was checked
    }

    /// <summary>Relative symlink <c>snapshots/&lt;sha&gt;/&lt;file&gt;</c> → <c>../../blobs/&lt;etag&gt;</c>, replaced atomically.</summary>
    private static void Link(RepoCache repo, string sha, string file, string blob) => CacheIo(repo, () =>
    {
        var pointer = repo.PointerPath(sha, file);
        var dir = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".tmp-{Path.GetFileName(pointer)}-{Guid.NewGuid():N}");
        File.CreateSymbolicLink(temp, Path.GetRelativePath(dir, blob));
        try { File.Move(temp, pointer, overwrite: true); }
        catch { TryDelete(temp); throw; }
    });

    /// <summary>
    /// Holds <c>.locks/models--org--name/&lt;etag&gt;.lock</c> (flock, as Python's filelock does) while a blob is
    /// downloaded, so two processes never write the same <c>.incomplete</c>.
    /// </summary>
    private async Task<FileStream> LockAsync(RepoCache repo, string etag, string file, DownloadProgress progress, CancellationToken ct)
    {
        var path = repo.LockPath(etag);
        CacheIo(repo, () => Directory.CreateDirectory(Path.GetDirectoryName(path)!));
        var waited = Stopwatch.StartNew();
        var noted = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (IsLockBusy(e))
            {
                if (waited.Elapsed > _settings.LockTimeout)
                    throw new HubException(HubErrorKind.CacheWrite, $"{file} of {repo.RepoId}: another download of it holds {path} for over {_settings.LockTimeout.TotalMinutes:0} minutes");
                if (!noted) progress.Note($"{file}: waiting for another download of it to finish ({path})");
                noted = true;
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CacheError(repo, e);
            }
        }
    }

    // EWOULDBLOCK from flock (Linux errno 11, macOS 35), or a Windows sharing violation.
    private static bool IsLockBusy(IOException e) => e.HResult is 11 or 35 or unchecked((int)0x80070020);

    private async Task DownloadBlobAsync(RepoCache repo, string revision, string file, FileMeta meta, DownloadProgress progress, CancellationToken ct)
    {
        var blob = repo.BlobPath(meta.Etag);
        var partial = blob + ".incomplete";
        CacheIo(repo, () => Directory.CreateDirectory(repo.BlobsDir));
        var attempts = Math.Max(1, _settings.MaxIntegrityAttempts);
        for (var attempt = 1; ; attempt++)
        {
            string? problem;
            try
            {
                string? sha256;
                (problem, sha256) = await FetchAsync(repo, revision, file, meta, partial, progress, first: attempt == 1, ct).ConfigureAwait(false);
                if (problem is null)
                {
                    File.Move(partial, blob, overwrite: true);
                    ContentHash.Remember(blob, sha256!, "computed while downloading, checked against its ETag", _hashLog);
                    progress.FileFinished();
                    return;
                }
            }
            catch (CacheWriteFailure e)
            {
                TryDelete(partial);
                throw CacheError(repo, e.InnerException!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDelete(partial);
                throw CacheError(repo, e);
            }
            TryDelete(partial);
            if (attempt >= attempts)
                throw new HubException(HubErrorKind.Integrity,
                    $"{file} of {repo.RepoId} (revision '{revision}') from {EndpointText}: {problem}; gave up after {attempt} downloads and deleted it");
            progress.Note($"{file}: {problem}; discarded, downloading it again ({attempt + 1}/{attempts})");
        }
    }

    /// <summary>
    /// Fills <paramref name="partial"/> up to the expected size, resuming from the bytes already in it (also those
    /// left by an earlier run) with <c>Range: bytes=N-</c>, retrying connection problems with backoff. Returns null when
    /// the file passed its checks (size; the ETag: sha256 of an LFS file, git blob sha1 of a small one), else what is
    /// wrong with it; and the content's sha256.
    /// </summary>
    private async Task<(string? Problem, string? Sha256)> FetchAsync(RepoCache repo, string revision, string file, FileMeta meta, string partial,
        DownloadProgress progress, bool first, CancellationToken ct)
    {
        var context = new ErrorContext(repo.RepoId, revision, file);
        var expected = meta.Size;
        // The sha256 is computed as the bytes arrive (it identifies the file downstream, whatever its ETag is).
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 18);
        try
        {
            await using var fs = Disk(() => new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1, FileOptions.None));
            long written = Disk(() => fs.Length);
            if (expected is long cap && written > cap)
            {
                Disk(() => fs.SetLength(0));
                written = 0;
            }
            if (written > 0)
            {
                // The resumed prefix is part of what the checksum covers: hash it from disk, then go on with new bytes.
                Disk(() => fs.Position = 0);
                for (int n; (n = Disk(() => fs.Read(buffer, 0, buffer.Length))) > 0;) hash.AppendData(buffer, 0, n);
            }
            Disk(() => fs.Position = written);
            if (first) progress.FileStarted(expected, written);

            (string?, string?) Fail(string problem)
            {
                progress.Discarded(written); // the caller deletes the file
                return (problem, null);
            }

            void Restart()
            {
                Disk(() => fs.SetLength(0));
                Disk(() => fs.Position = 0);
                progress.Discarded(written);
                written = 0;
                hash.GetHashAndReset();
            }

            var attempts = Math.Max(1, _settings.MaxAttempts);
            int failures = 0, tries = 0;
            while (expected is not long full || written < full)
            {
                tries++;
                var before = written;
                TimeSpan? retryAfter = null;
                try
                {
                    using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    cts.CancelAfter(_settings.ReadTimeout);
                    using var response = await SendAsync(HttpMethod.Get, meta.DownloadUrl, written > 0 ? written : null, followAbsolute: true, cts.Token).ConfigureAwait(false);
                    var code = (int)response.StatusCode;
                    if (IsRetryable(response.StatusCode))
                    {
                        retryAfter = RetryAfter(response);
                        throw new TransientFailure($"HTTP {code} {response.ReasonPhrase}");
                    }
                    if (code == 416 && written > 0)
                    {
                        Restart();
                        throw new TransientFailure("the server refused to resume (HTTP 416)");
                    }
                    if (code is < 200 or >= 300) throw MapError(response, context);
                    if (code == 206)
                    {
                        if (response.Content.Headers.ContentRange is not { From: long start } range || start != written)
                        {
                            Restart();
                            throw new TransientFailure("the server resumed at a different offset");
                        }
                        if (expected is null && range.Length is long total) { expected = total; progress.SizeLearned(total); }
                    }
                    else
                    {
                        if (written > 0) Restart(); // 200: the whole file again
                        if (expected is null && response.Content.Headers.ContentLength is long length) { expected = length; progress.SizeLearned(length); }
                    }

                    await using var body = await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);
                    while (true)
                    {
                        cts.CancelAfter(_settings.ReadTimeout);
                        var n = await body.ReadAsync(buffer.AsMemory(), cts.Token).ConfigureAwait(false);
                        if (n == 0) break;
                        if (expected is long max && written + n > max)
                            return Fail($"the server sent more than the {max} bytes it announced");
                        Disk(() => fs.Write(buffer, 0, n));
                        hash.AppendData(buffer, 0, n);
                        written += n;
                        progress.Received(n);
                    }
                    if (expected is long want && written < want)
                        throw new TransientFailure($"the connection closed after {written} of {want} bytes");
                    if (expected is null) break; // no size known: the body as sent is the file
                }
                catch (Exception e) when (IsTransient(e, ct))
                {
                    if (written > before) failures = 0; // progress was made: only consecutive fruitless tries count
                    failures++;
                    var failure = Describe(e, _settings.ReadTimeout);
                    if (failures >= attempts || tries >= attempts * 20)
                        throw new HubException(HubErrorKind.Network,
                            $"downloading {file} of {repo.RepoId} from {EndpointText} failed: {failure} (tried {tries} times; " +
                            $"the {written} bytes received are kept in {partial} and the next run resumes from there)");
                    progress.Note($"{file}: {failure}; resuming from byte {written} ({failures}/{attempts})");
                    await Task.Delay(Backoff(failures, retryAfter), ct).ConfigureAwait(false);
                }
            }

            Disk(() => fs.Flush(flushToDisk: true));
            if (meta.Size is long size && written != size)
                return Fail($"got {written} bytes instead of {size}");
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (Sha256Hex().IsMatch(meta.Etag) && actual != meta.Etag) return Fail($"sha256 {actual} does not match the expected {meta.Etag}");
            if (GitSha1Hex().IsMatch(meta.Etag))
            {
                // A small (non-LFS) file: its ETag is the git blob sha1 of its content.
                Disk(() => fs.Position = 0);
                using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
                sha1.AppendData(System.Text.Encoding.ASCII.GetBytes($"blob {written.ToString(CultureInfo.InvariantCulture)}\0"));
                for (int n; (n = Disk(() => fs.Read(buffer, 0, buffer.Length))) > 0;) sha1.AppendData(buffer, 0, n);
                var git = Convert.ToHexStringLower(sha1.GetHashAndReset());
                if (git != meta.Etag) return Fail($"git blob sha1 {git} does not match the ETag {meta.Etag}");
            }
            return (null, actual);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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
