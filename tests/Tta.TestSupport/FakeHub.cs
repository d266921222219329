using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Tta.Tests;

/// <summary>
/// A Hugging Face Hub look-alike on 127.0.0.1 (TcpListener, one request per connection): the model API, HEAD/GET on
/// <c>/{repo}/resolve/{rev}/{file}</c> with the Hub's headers (ETag = sha256 for LFS files, git sha1 otherwise;
/// X-Linked-Etag, X-Linked-Size, X-Repo-Commit; LFS files redirect to <c>/cdn/&lt;sha256&gt;</c>), Range requests,
/// auth for gated/private repos, and injectable faults. Records every request and the body bytes it sent per file.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public abstract record Fault;
    public sealed record Status(int Code, int? RetryAfterSeconds = null) : Fault;
    /// <summary>Send the headers and this many body bytes, then close the connection.</summary>
    public sealed record DropAfter(long Bytes) : Fault;
    /// <summary>Flip the byte at this offset of the file.</summary>
    public sealed record CorruptByte(long Offset) : Fault;
    /// <summary>Pause this long after this many body bytes.</summary>
    public sealed record Stall(long AfterBytes, int Millis) : Fault;
    /// <summary>Send the body in chunks with a pause after each.</summary>
    public sealed record Trickle(int ChunkBytes, int DelayMillis) : Fault;

    public sealed record Request(string Method, string Path, Dictionary<string, string> Headers, string? File)
    {
        public int Status { get; set; }
        public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
    }

    private sealed record RepoData(string Id, string Sha, Dictionary<string, byte[]> Files, string? Token, bool Private);

    private readonly TcpListener _listener;
    private readonly TcpListener? _cdnListener;
    private readonly ConcurrentDictionary<string, string> _renames = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, RepoData> _repos = new();
    private readonly ConcurrentDictionary<string, (string File, byte[] Data)> _lfs = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new();
    private int _connections;

    public ConcurrentQueue<Request> Requests { get; } = new();
    public ConcurrentDictionary<string, long> BodyBytesSent { get; } = new();
    public int Connections => Volatile.Read(ref _connections);
    public string Endpoint { get; }

    /// <param name="separateCdn">Serve LFS downloads from a second port, i.e. another origin, like a real CDN.</param>
    public FakeHub(bool separateCdn = false)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = Task.Run(() => AcceptLoop(_listener));
        if (separateCdn)
        {
            _cdnListener = new TcpListener(IPAddress.Loopback, 0);
            _cdnListener.Start();
            CdnEndpoint = $"http://127.0.0.1:{((IPEndPoint)_cdnListener.LocalEndpoint).Port}";
            _ = Task.Run(() => AcceptLoop(_cdnListener));
        }
        else
        {
            CdnEndpoint = Endpoint;
        }
    }

    public string CdnEndpoint { get; }

    /// <summary>Requests under <paramref name="oldId"/> get a relative 307 to <paramref name="newId"/>, as for a renamed repo.</summary>
    public void AddRename(string oldId, string newId) => _renames[oldId] = newId;

    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal) || file.EndsWith(".bin", StringComparison.Ordinal)
        || file.EndsWith(".model", StringComparison.Ordinal) || file.EndsWith(".onnx", StringComparison.Ordinal);

    public string AddRepo(string id, Dictionary<string, byte[]> files, string? requiredToken = null, bool isPrivate = false, string? sha = null)
    {
        sha ??= Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + Guid.NewGuid())));
        _repos[id] = new RepoData(id, sha, files, requiredToken, isPrivate);
        foreach (var (name, data) in files)
            if (IsLfs(name)) _lfs[Convert.ToHexStringLower(SHA256.HashData(data))] = (name, data);
        return sha;
    }

    /// <summary>Faults for the next requests of a kind: "API", "HEAD file" or "GET file" (body requests, resolve or CDN).</summary>
    public void AddFault(string key, params Fault[] faults)
    {
        var queue = _faults.GetOrAdd(key, _ => new ConcurrentQueue<Fault>());
        foreach (var f in faults) queue.Enqueue(f);
    }

    private Fault? NextFault(string key) => _faults.TryGetValue(key, out var q) && q.TryDequeue(out var f) ? f : null;

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _cdnListener?.Stop();
    }

    private async Task AcceptLoop(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(_stop.Token); }
            catch { return; }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHead(stream);
                if (head is null) return;
                var lines = head.Split("\r\n");
                var parts = lines[0].Split(' ');
                var headers = new Dictionary<string, string>();
                foreach (var line in lines.Skip(1))
                {
                    var colon = line.IndexOf(':');
                    if (colon > 0) headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
                }
                await Route(client, stream, parts[0], parts[1], headers);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task<string?> ReadHead(NetworkStream stream)
    {
        var buffer = new byte[16384];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), _stop.Token);
            if (n == 0) return null;
            length += n;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0) return text[..end];
        }
        return null;
    }

    private async Task Route(TcpClient client, NetworkStream stream, string method, string target, Dictionary<string, string> headers)
    {
        var path = target.Split('?')[0];
        const string Api = "/api/models/";
        foreach (var (oldId, newId) in _renames)
        {
            foreach (var prefix in new[] { $"{Api}{oldId}/", $"/{oldId}/resolve/" })
            {
                if (!path.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var moved = prefix.Replace(oldId, newId, StringComparison.Ordinal) + path[prefix.Length..];
                await Respond(stream, Record(method, path, headers, null), 307, [("Location", moved)]);
                return;
            }
        }
        if (path.StartsWith(Api, StringComparison.Ordinal))
        {
            var rest = path[Api.Length..];
            var at = rest.IndexOf("/revision/", StringComparison.Ordinal);
            var request = Record(method, path, headers, null);
            if (NextFault("API") is Status s) { await Respond(stream, request, s.Code, [.. RetryAfter(s)]); return; }
            if (at < 0 || !_repos.TryGetValue(rest[..at], out var repo))
            {
                await Respond(stream, request, 404, [("X-Error-Code", "RepoNotFound")], "{\"error\":\"Repository not found\"}"u8.ToArray());
                return;
            }
            if (repo.Private && !Authorized(repo, headers))
            {
                await Respond(stream, request, 401, [("X-Error-Code", "RepoNotFound")], "{\"error\":\"Invalid username or password.\"}"u8.ToArray());
                return;
            }
            var revision = Uri.UnescapeDataString(rest[(at + "/revision/".Length)..]);
            if (revision != "main" && revision != repo.Sha)
            {
                await Respond(stream, request, 404, [("X-Error-Code", "RevisionNotFound")], "{\"error\":\"Invalid rev id\"}"u8.ToArray());
                return;
            }
            var json = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["_id"] = "0123456789abcdef01234567",
                ["id"] = repo.Id,
                ["modelId"] = repo.Id,
                ["sha"] = repo.Sha,
                ["private"] = repo.Private,
                ["gated"] = repo.Token is null ? false : "manual",
                ["disabled"] = false,
                ["tags"] = new[] { "transformers" },
                ["siblings"] = repo.Files.Keys.Select(f => new { rfilename = f }).ToArray(),
            });
            await Respond(stream, request, 200, [("Content-Type", "application/json")], json);
            return;
        }
        if (path.StartsWith("/cdn/", StringComparison.Ordinal) && _lfs.TryGetValue(path["/cdn/".Length..], out var lfs))
        {
            var request = Record(method, path, headers, lfs.File);
            await ServeBody(client, stream, request, lfs.File, lfs.Data, headers, Sha256Etag(lfs.Data));
            return;
        }
        var resolve = path.IndexOf("/resolve/", StringComparison.Ordinal);
        if (resolve > 0 && _repos.TryGetValue(path[1..resolve], out var r))
        {
            var afterResolve = path[(resolve + "/resolve/".Length)..];
            var slash = afterResolve.IndexOf('/');
            var rev = Uri.UnescapeDataString(afterResolve[..slash]);
            var file = string.Join('/', afterResolve[(slash + 1)..].Split('/').Select(Uri.UnescapeDataString));
            var request = Record(method, path, headers, file);
            if (r.Token is not null && !Authorized(r, headers))
            {
                var code = headers.ContainsKey("authorization") ? 403 : 401;
                await Respond(stream, request, code, [("X-Error-Code", "GatedRepo")], "{\"error\":\"Access to model is restricted.\"}"u8.ToArray());
                return;
            }
            if (rev != r.Sha && rev != "main")
            {
                await Respond(stream, request, 404, [("X-Error-Code", "RevisionNotFound")]);
                return;
            }
            if (!r.Files.TryGetValue(file, out var data))
            {
                await Respond(stream, request, 404, [("X-Error-Code", "EntryNotFound")]);
                return;
            }
            if (method == "HEAD" && NextFault("HEAD " + file) is Status hs)
            {
                await Respond(stream, request, hs.Code, [.. RetryAfter(hs)]);
                return;
            }
            var commit = ("X-Repo-Commit", r.Sha);
            if (IsLfs(file))
            {
                var sha256 = Convert.ToHexStringLower(SHA256.HashData(data));
                await Respond(stream, request, 302,
                [
                    ("Location", $"{CdnEndpoint}/cdn/{sha256}?X-Amz-Signature=abc"), ("ETag", $"\"{sha256}\""), ("X-Linked-Etag", $"\"{sha256}\""),
                    ("X-Linked-Size", data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)), commit,
                ]);
                return;
            }
            var gitEtag = $"\"{Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {data.Length}\0"), .. data]))}\"";
            if (method == "HEAD")
            {
                await Respond(stream, request, 200, [("ETag", gitEtag), commit, ("Content-Length", data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))], noBody: true);
                return;
            }
            await ServeBody(client, stream, request, file, data, headers, gitEtag);
            return;
        }
        await Respond(stream, Record(method, path, headers, null), 404, [("X-Error-Code", "RepoNotFound")]);
    }

    private static string Sha256Etag(byte[] data) => $"\"{Convert.ToHexStringLower(SHA256.HashData(data))}\"";

    private static IEnumerable<(string, string)> RetryAfter(Status s) =>
        s.RetryAfterSeconds is { } seconds ? [("Retry-After", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture))] : [];

    private static bool Authorized(RepoData repo, Dictionary<string, string> headers) =>
        headers.TryGetValue("authorization", out var auth) && auth == "Bearer " + repo.Token;

    private Request Record(string method, string path, Dictionary<string, string> headers, string? file)
    {
        var request = new Request(method, path, headers, file);
        Requests.Enqueue(request);
        return request;
    }

    private async Task ServeBody(TcpClient client, NetworkStream stream, Request request, string file, byte[] data, Dictionary<string, string> headers, string etag)
    {
        var fault = NextFault("GET " + file);
        if (fault is Status s)
        {
            await Respond(stream, request, s.Code, [.. RetryAfter(s)]);
            return;
        }
        long start = 0;
        if (headers.TryGetValue("range", out var range) && range.StartsWith("bytes=", StringComparison.Ordinal))
            start = long.Parse(range["bytes=".Length..].Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
        if (start >= data.Length && start > 0)
        {
            await Respond(stream, request, 416, [("Content-Range", $"bytes */{data.Length}")]);
            return;
        }
        var body = data[(int)start..];
        if (fault is CorruptByte c && c.Offset >= start) body[c.Offset - start] ^= 0xFF;
        var status = start > 0 ? 206 : 200;
        var head = new List<(string, string)> { ("ETag", etag), ("Accept-Ranges", "bytes"), ("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        if (status == 206) head.Add(("Content-Range", $"bytes {start}-{data.Length - 1}/{data.Length}"));
        request.Status = status;
        await WriteHead(stream, status, head);

        async Task Send(int from, int count)
        {
            await stream.WriteAsync(body.AsMemory(from, count), _stop.Token);
            BodyBytesSent.AddOrUpdate(file, count, (_, v) => v + count);
        }

        switch (fault)
        {
            case DropAfter d:
                await Send(0, (int)Math.Min(d.Bytes, body.Length));
                await stream.FlushAsync(_stop.Token);
                client.Client.Shutdown(SocketShutdown.Send);
                return;
            case Stall st:
                var first = (int)Math.Min(st.AfterBytes, body.Length);
                await Send(0, first);
                await Task.Delay(st.Millis, _stop.Token);
                await Send(first, body.Length - first);
                return;
            case Trickle t:
                for (var at = 0; at < body.Length; at += t.ChunkBytes)
                {
                    await Send(at, Math.Min(t.ChunkBytes, body.Length - at));
                    await Task.Delay(t.DelayMillis, _stop.Token);
                }
                return;
            default:
                await Send(0, body.Length);
                return;
        }
    }

    private async Task Respond(NetworkStream stream, Request request, int status, (string, string)[] headers, byte[]? body = null, bool noBody = false)
    {
        request.Status = status;
        var head = headers.ToList();
        if (!noBody) head.Add(("Content-Length", (body?.Length ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await WriteHead(stream, status, head);
        if (body is not null && request.Method != "HEAD") await stream.WriteAsync(body, _stop.Token);
    }

    private async Task WriteHead(NetworkStream stream, int status, IEnumerable<(string Name, string Value)> headers)
    {
        var text = new StringBuilder($"HTTP/1.1 {status} {ReasonPhrase(status)}\r\n");
        foreach (var (name, value) in headers) text.Append($"{name}: {value}\r\n");
        text.Append("Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), _stop.Token);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
}
