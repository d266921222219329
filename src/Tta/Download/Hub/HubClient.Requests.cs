using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tta.Download.Hub;

// Requests to the Hub: the revision API, HEAD on resolve URLs, retries with backoff, and errors mapped to
// HubErrorKind.
public sealed partial class HubClient
{
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
}
