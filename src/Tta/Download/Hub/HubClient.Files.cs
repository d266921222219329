using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Tta.Core;

namespace Tta.Download.Hub;

// File transfer: each missing file downloaded into its blob under a lock, resumed with Range after failures,
// checked, then linked from the snapshot.
public sealed partial class HubClient
{
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
}
