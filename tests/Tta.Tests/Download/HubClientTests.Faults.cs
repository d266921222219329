using System.Text;
using Tta.Download.Hub;

namespace Tta.Tests.Download;

/// <summary>The Hub client under faults: dropped, corrupt, slow and stalled transfers, retries with backoff, auth, errors and redirects.</summary>
public partial class HubClientTests
{
    [Fact]
    public async Task DroppedConnectionResumesWithRangeFromTheReceivedOffset()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        hub.AddFault("GET model.safetensors", new FakeHub.DropAfter(100_000), new FakeHub.DropAfter(150_000));
        var env = NewEnv(hub);

        var (_, output) = await Download(Settings(env), "org/gpt2-tiny");

        var gets = hub.Requests.Where(r => r.Method == "GET" && r.File == "model.safetensors" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, gets.Count);
        Assert.Null(gets[0].Header("Range"));
        Assert.Equal("bytes=100000-", gets[1].Header("Range"));
        Assert.Equal("bytes=250000-", gets[2].Header("Range"));
        Assert.Equal(files["model.safetensors"].Length, hub.BodyBytesSent["model.safetensors"]); // nothing fetched twice
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, ["model.safetensors"]);
        Assert.Contains("resuming from byte 100000", output);
    }

    [Fact]
    public async Task PartialFileFromAnEarlierRunIsResumedAndAWrongPrefixIsRefetched()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var data = files["model.safetensors"];
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        var env = NewEnv(hub);
        var blobs = Path.Combine(RepoDir(env.Cache, "org/gpt2-tiny"), "blobs");
        Directory.CreateDirectory(blobs);
        var partial = Path.Combine(blobs, Sha256(data) + ".incomplete");
        File.WriteAllBytes(partial, data[..123_457]);

        await Download(Settings(env), "org/gpt2-tiny");
        var get = Assert.Single(hub.Requests, r => r.Method == "GET" && r.File == "model.safetensors");
        Assert.Equal("bytes=123457-", get.Header("Range"));
        Assert.Equal(data.Length - 123_457, hub.BodyBytesSent["model.safetensors"]);
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, ["model.safetensors"]);

        // A partial whose bytes are wrong fails the sha256 check once complete: deleted, fetched again from zero.
        var env2 = NewEnv(hub);
        var blobs2 = Path.Combine(RepoDir(env2.Cache, "org/gpt2-tiny"), "blobs");
        Directory.CreateDirectory(blobs2);
        var wrong = data[..50_000];
        wrong[10] ^= 0x5A;
        File.WriteAllBytes(Path.Combine(blobs2, Sha256(data) + ".incomplete"), wrong);
        hub.Requests.Clear();
        hub.BodyBytesSent.Clear();
        var (_, output) = await Download(Settings(env2), "org/gpt2-tiny");
        Assert.Contains("sha256", output);
        Assert.Equal(data.Length - 50_000 + data.Length, hub.BodyBytesSent["model.safetensors"]);
        AssertPythonLayout(env2.Cache, "org/gpt2-tiny", sha, files, ["model.safetensors"]);
    }

    [Fact]
    public async Task OneWrongByteIsRejectedAndRefetchedAndNeverStored()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        hub.AddFault("GET model.safetensors", new FakeHub.CorruptByte(200_000));
        var env = NewEnv(hub);

        var (_, output) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Equal(2, hub.Requests.Count(r => r.Method == "GET" && r.File == "model.safetensors" && r.Header("Range") is null));
        Assert.Contains("does not match", output);
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, ["model.safetensors"]);

        // Always wrong: bounded refetches, then an error; no blob, no partial, no snapshot entry.
        var env2 = NewEnv(hub);
        hub.AddFault("GET model.safetensors", new FakeHub.CorruptByte(5), new FakeHub.CorruptByte(6), new FakeHub.CorruptByte(7), new FakeHub.CorruptByte(8));
        hub.Requests.Clear();
        var (error, _) = await DownloadFails(Settings(env2) with { MaxIntegrityAttempts = 3 }, "org/gpt2-tiny");
        Assert.Equal(HubErrorKind.Integrity, error.Kind);
        Assert.Contains("model.safetensors", error.Message);
        Assert.Equal(3, hub.Requests.Count(r => r.Method == "GET" && r.File == "model.safetensors"));
        var blobs = Path.Combine(RepoDir(env2.Cache, "org/gpt2-tiny"), "blobs");
        Assert.DoesNotContain(Directory.EnumerateFiles(blobs), f => Path.GetFileName(f).StartsWith(Sha256(files["model.safetensors"]), StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(RepoDir(env2.Cache, "org/gpt2-tiny"), "snapshots", sha, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(RepoDir(env2.Cache, "org/gpt2-tiny"), "refs", "main")));
    }

    [Fact]
    public async Task ASmallFileThatDoesNotMatchItsEtagIsRejectedAndRefetched()
    {
        // config.json is not an LFS file: its ETag is the git blob sha1 of its content, which was never checked.
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        hub.AddFault("GET config.json", new FakeHub.CorruptByte(10));
        var env = NewEnv(hub);

        var (snapshot, output) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Contains($"git blob sha1", output);
        Assert.Contains($"does not match the ETag {GitSha1(files["config.json"])}", output);
        Assert.Equal(2, hub.Requests.Count(r => r.Method == "GET" && r.File == "config.json"));
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, ["config.json"]);
        // The snapshot carries each file's sha256, checked in this call, for the stage to record without reading again.
        Assert.Equal(Sha256(files["config.json"]), snapshot.Sha256["config.json"]);
        Assert.Equal(Sha256(files["model.safetensors"]), snapshot.Sha256["model.safetensors"]);

        // A cached blob changed behind the client's back is noticed by its content and fetched again.
        var blob = Path.Combine(RepoDir(env.Cache, "org/gpt2-tiny"), "blobs", GitSha1(files["config.json"]));
        File.WriteAllText(blob, "{}");
        (snapshot, output) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Contains("not its name", output);
        Assert.Equal(files["config.json"], File.ReadAllBytes(blob));
        Assert.Equal(Sha256(files["config.json"]), snapshot.Sha256["config.json"]);
    }

    [Fact]
    public async Task GatedRepoExplainsHfTokenAndNeverLeaksIt()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gated", files, requiredToken: "hf_the_right_one");
        var marker = "hf_MARKER_" + Guid.NewGuid().ToString("N");
        const string Expected = "model is gated or private: set HF_TOKEN (a token from your Hugging Face settings with access to org/gated)";

        // No token: 401. A token without access: 403. Both explain what to do; neither shows the token.
        var (noToken, _) = await DownloadFails(Settings(NewEnv(hub)), "org/gated");
        Assert.Equal(HubErrorKind.Unauthorized, noToken.Kind);
        Assert.Contains(Expected, noToken.Message);
        Assert.Contains(hub.Requests, r => r.Status == 401);

        var env = NewEnv(hub, ("HF_TOKEN", marker));
        var settings = Settings(env);
        Assert.DoesNotContain(marker, settings.ToString());
        var (error, output) = await DownloadFails(settings, "org/gated");
        Assert.Equal(HubErrorKind.Unauthorized, error.Kind);
        Assert.Contains(Expected, error.Message);
        Assert.Contains(hub.Requests, r => r.Status == 403);
        Assert.Contains(hub.Requests, r => r.Header("Authorization") == "Bearer " + marker); // it was sent, to 127.0.0.1
        Assert.DoesNotContain(marker, error.ToString());
        Assert.DoesNotContain(marker, output);
        AssertNowhereUnder(Path.GetDirectoryName(env.Cache)!, marker);

        // The right token from HF_TOKEN_PATH works, and is not written anywhere either.
        var tokenDir = Repo.TempDir();
        File.WriteAllText(Path.Combine(tokenDir, "token"), "hf_the_right_one\n");
        var good = NewEnv(hub, ("HF_TOKEN_PATH", Path.Combine(tokenDir, "token")));
        var (snapshot, goodOutput) = await Download(Settings(good), "org/gated");
        Assert.Equal(sha, snapshot.CommitSha);
        Assert.DoesNotContain("hf_the_right_one", goodOutput);
        AssertNowhereUnder(good.Cache, "hf_the_right_one");

        // A private repository answers the API with 401 RepoNotFound, as huggingface.co does.
        hub.AddRepo("org/private", files, requiredToken: "hf_the_right_one", isPrivate: true);
        var (priv, _) = await DownloadFails(Settings(env), "org/private");
        Assert.Equal(HubErrorKind.Unauthorized, priv.Kind);
        Assert.Contains("HF_TOKEN", priv.Message);
        Assert.Contains("org/private", priv.Message);
        Assert.DoesNotContain(marker, priv.ToString());
    }

    private static void AssertNowhereUnder(string dir, string secret)
    {
        var needle = Encoding.UTF8.GetBytes(secret);
        foreach (var path in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(secret, path);
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target) Assert.DoesNotContain(secret, target);
            if (File.Exists(path))
                Assert.True(File.ReadAllBytes(path).AsSpan().IndexOf(needle) < 0, $"{path} holds the token");
        }
    }

    [Fact]
    public async Task NotFoundNamesRepoRevisionOrFile()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        hub.AddRepo("org/gpt2-tiny", files);
        var env = NewEnv(hub);

        var (repo, _) = await DownloadFails(Settings(env), "org/does-not-exist");
        Assert.Equal(HubErrorKind.NotFound, repo.Kind);
        Assert.Contains("org/does-not-exist", repo.Message);
        Assert.Contains("not found", repo.Message);

        var (revision, _) = await DownloadFails(Settings(env), "org/gpt2-tiny", "no-such-branch");
        Assert.Equal(HubErrorKind.NotFound, revision.Kind);
        Assert.Contains("no-such-branch", revision.Message);

        hub.AddFault("HEAD tokenizer.json", new FakeHub.Status(404));
        var (file, _) = await DownloadFails(Settings(env), "org/gpt2-tiny");
        Assert.Equal(HubErrorKind.NotFound, file.Kind);
        Assert.Contains("tokenizer.json", file.Message);
        Assert.Contains("org/gpt2-tiny", file.Message);
        Assert.False(File.Exists(Path.Combine(RepoDir(env.Cache, "org/gpt2-tiny"), "refs", "main")));
    }

    [Fact]
    public async Task ServerErrorsAreRetriedWithBackoffAndBounded()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        hub.AddFault("API", new FakeHub.Status(503), new FakeHub.Status(502));
        hub.AddFault("HEAD config.json", new FakeHub.Status(500));
        hub.AddFault("GET model.safetensors", new FakeHub.Status(429, RetryAfterSeconds: 0), new FakeHub.Status(504));
        var env = NewEnv(hub);

        var (snapshot, output) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Equal(sha, snapshot.CommitSha);
        Assert.Equal(3, hub.Requests.Count(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)));
        Assert.Equal(2, hub.Requests.Count(r => r.Method == "HEAD" && r.File == "config.json"));
        Assert.Equal(3, hub.Requests.Count(r => r.Method == "GET" && r.File == "model.safetensors" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal)));
        Assert.Contains("HTTP 503", output);
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, snapshot.Files);

        // An outage that does not end: exactly MaxAttempts tries, then a network error.
        hub.AddFault("API", Enumerable.Repeat<FakeHub.Fault>(new FakeHub.Status(503), 10).ToArray());
        hub.Requests.Clear();
        var (error, _) = await DownloadFails(Settings(NewEnv(hub)) with { MaxAttempts = 4 }, "org/gpt2-tiny");
        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Equal(4, hub.Requests.Count);
        Assert.Contains("503", error.Message);
    }

    [Fact]
    public async Task SlowResponsesFinishAndStalledOnesResume()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        var env = NewEnv(hub);

        // Slow but moving (64 KiB every 25 ms): no time-out, one request; periodic progress lines meanwhile.
        hub.AddFault("GET model.safetensors", new FakeHub.Trickle(64 * 1024, 25));
        var (_, output) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Single(hub.Requests, r => r.Method == "GET" && r.File == "model.safetensors");
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, ["model.safetensors"]);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("ETA", StringComparison.Ordinal) && l.Contains("/s,", StringComparison.Ordinal) && l.Contains("%)", StringComparison.Ordinal));
        Assert.DoesNotContain("\r", output);

        // Stalled after 50,000 bytes for longer than the read time-out: abandoned, resumed from byte 50,000.
        var env2 = NewEnv(hub);
        hub.Requests.Clear();
        hub.AddFault("GET model.safetensors", new FakeHub.Stall(50_000, 6000));
        var (_, output2) = await Download(Settings(env2) with { ReadTimeout = TimeSpan.FromSeconds(1) }, "org/gpt2-tiny");
        var gets = hub.Requests.Where(r => r.Method == "GET" && r.File == "model.safetensors").ToList();
        Assert.Equal(2, gets.Count);
        Assert.Equal("bytes=50000-", gets[1].Header("Range"));
        Assert.Contains("no answer within", output2);
        AssertPythonLayout(env2.Cache, "org/gpt2-tiny", sha, files, ["model.safetensors"]);

        // On a terminal the progress line is redrawn in place.
        var env3 = NewEnv(hub);
        hub.AddFault("GET model.safetensors", new FakeHub.Trickle(64 * 1024, 60));
        var (_, live) = await Download(Settings(env3), "org/gpt2-tiny", live: true);
        Assert.Contains("\r", live);
        Assert.EndsWith("\n", live);
    }

    [Fact]
    public async Task TwoClientsOnOneCacheFetchEachBlobOnce()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        hub.AddFault("GET model.safetensors", new FakeHub.Trickle(100 * 1024, 40));
        var env = NewEnv(hub);

        var both = await Task.WhenAll(Download(Settings(env), "org/gpt2-tiny"), Download(Settings(env), "org/gpt2-tiny"));
        Assert.All(both, r => Assert.Equal(sha, r.Snapshot.CommitSha));
        Assert.Equal(files["model.safetensors"].Length, hub.BodyBytesSent["model.safetensors"]);
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, ["config.json", "model.safetensors", "tokenizer.json"]);
    }

    [Fact]
    public async Task TokenGoesToTheHubButNotToTheCdnOrigin()
    {
        using var hub = new FakeHub(separateCdn: true);
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gated", files, requiredToken: "hf_cdn_check");
        var env = NewEnv(hub, ("HF_TOKEN", "hf_cdn_check"));

        await Download(Settings(env), "org/gated");

        var cdn = hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(cdn);
        Assert.All(cdn, r => Assert.Null(r.Header("Authorization")));
        Assert.All(hub.Requests.Except(cdn), r => Assert.Equal("Bearer hf_cdn_check", r.Header("Authorization")));
        AssertPythonLayout(env.Cache, "org/gated", sha, files, ["config.json", "model.safetensors", "tokenizer.json"]);
    }

    [Fact]
    public async Task RenamedRepoRedirectsAreFollowed()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/new-name", files);
        hub.AddRename("org/old-name", "org/new-name");
        var env = NewEnv(hub);

        var (snapshot, _) = await Download(Settings(env), "org/old-name");

        Assert.Equal(sha, snapshot.CommitSha);
        Assert.Contains(hub.Requests, r => r.Status == 307 && r.Path.StartsWith("/api/models/org/old-name/", StringComparison.Ordinal));
        Assert.Contains(hub.Requests, r => r.Status == 307 && r.Path.StartsWith("/org/old-name/resolve/", StringComparison.Ordinal));
        AssertPythonLayout(env.Cache, "org/old-name", sha, files, ["config.json", "model.safetensors", "tokenizer.json"]);
    }

    [Fact]
    public async Task UnreachableHubIsRetriedThenFallsBackToACompleteCache()
    {
        var files = Gpt2Files();
        Env env;
        string sha;
        using (var hub = new FakeHub())
        {
            sha = hub.AddRepo("org/gpt2-tiny", files);
            env = NewEnv(hub);
            await Download(Settings(env), "org/gpt2-tiny");
        }
        // The server is gone (connection refused on its port): the cached snapshot of refs/main is used, with a note.
        var (snapshot, output) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Equal(sha, snapshot.CommitSha);
        Assert.Contains("cannot reach", output);
        Assert.Contains("retrying (1/5)", output);

        // Nothing cached: a network error after the bounded retries, naming the endpoint.
        var (error, _) = await DownloadFails(Settings(env), "org/never-downloaded");
        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Contains(env.Vars["HF_ENDPOINT"], error.Message);
        Assert.Contains("tried 5 times", error.Message);
    }
}
