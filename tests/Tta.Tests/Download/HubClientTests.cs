using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tta.Download.Hub;

namespace Tta.Tests;

public class HubClientTests
{
    private static readonly string Gpt2 = "models/gpt2-tiny";

    // ------------------------------------------------------------------ helpers

    private static byte[] Fixture(string relative) => File.ReadAllBytes(Repo.Fixture(relative));

    /// <summary>A repo shaped like a real one: what the model needs plus files it does not (README, fixtures' extras).</summary>
    private static Dictionary<string, byte[]> Gpt2Files() => new()
    {
        ["config.json"] = Fixture($"{Gpt2}/config.json"),
        ["generation_config.json"] = Fixture($"{Gpt2}/generation_config.json"),
        ["model.safetensors"] = Fixture($"{Gpt2}/model.safetensors"),
        ["tokenizer.json"] = Fixture("tokenizers/bytelevel-bpe/tokenizer.json"),
        ["case.json"] = Fixture($"{Gpt2}/case.json"),
        ["expected.safetensors"] = Fixture($"{Gpt2}/expected.safetensors"),
        ["README.md"] = Encoding.UTF8.GetBytes("# tiny gpt2\n"),
        ["onnx/model.onnx"] = new byte[1000],
    };

    private static string NewSha() => Convert.ToHexStringLower(SHA1.HashData(Guid.NewGuid().ToByteArray()));

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static string GitSha1(byte[] data) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {data.Length}\0"), .. data]));

    /// <summary>The blob name huggingface_hub uses, computed here independently of the client.</summary>
    private static string Etag(string file, byte[] data) => FakeHub.IsLfs(file) ? Sha256(data) : GitSha1(data);

    private sealed record Env(string Cache, Dictionary<string, string> Vars);

    private static Env NewEnv(FakeHub? hub, params (string Key, string Value)[] vars)
    {
        var root = Repo.TempDir();
        var env = new Dictionary<string, string>
        {
            ["HOME"] = Path.Combine(root, "home"),
            ["HF_HOME"] = Path.Combine(root, "hf-home"), // so no real token file on this machine is picked up
            ["HF_HUB_CACHE"] = Path.Combine(root, "cache"),
            ["HF_ENDPOINT"] = hub?.Endpoint ?? "http://127.0.0.1:9",
        };
        foreach (var (k, v) in vars) env[k] = v;
        return new Env(env["HF_HUB_CACHE"], env);
    }

    private static HubSettings Settings(Env env) =>
        HubSettings.FromEnvironment(k => env.Vars.GetValueOrDefault(k)) with
        {
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
            RetryMaxDelay = TimeSpan.FromMilliseconds(50),
            MetadataTimeout = TimeSpan.FromSeconds(5),
            ReadTimeout = TimeSpan.FromSeconds(5),
            ProgressInterval = TimeSpan.FromMilliseconds(40),
        };

    private static async Task<(HubSnapshot Snapshot, string Output)> Download(HubSettings settings, string repo, string revision = "main", bool live = false)
    {
        var output = new StringWriter();
        using var client = new HubClient(settings, output, progressIsTerminal: live);
        var snapshot = await client.DownloadAsync(repo, revision, CancellationToken.None);
        return (snapshot, output.ToString());
    }

    private static async Task<(HubException Error, string Output)> DownloadFails(HubSettings settings, string repo, string revision = "main")
    {
        var output = new StringWriter();
        using var client = new HubClient(settings, output, progressIsTerminal: false);
        var error = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(repo, revision, CancellationToken.None));
        return (error, output.ToString());
    }

    private static string RepoDir(string cache, string repo) => Path.Combine(cache, "models--" + repo.Replace("/", "--"));

    /// <summary>Checks a snapshot the way huggingface_hub reads one: relative symlinks into blobs/ named by ETag.</summary>
    private static void AssertPythonLayout(string cache, string repo, string sha, IDictionary<string, byte[]> files, IEnumerable<string> expected)
    {
        var snapshotDir = Path.Combine(RepoDir(cache, repo), "snapshots", sha);
        foreach (var name in expected)
        {
            var pointer = Path.Combine(snapshotDir, name);
            var etag = Etag(name, files[name]);
            var info = new FileInfo(pointer);
            Assert.True(info.LinkTarget is not null, $"{name} is not a symlink");
            var depth = name.Count(c => c == '/');
            Assert.Equal(string.Concat(Enumerable.Repeat("../", depth + 2)) + "blobs/" + etag, info.LinkTarget);
            Assert.Equal(files[name], File.ReadAllBytes(pointer));
            Assert.Equal(files[name], File.ReadAllBytes(Path.Combine(RepoDir(cache, repo), "blobs", etag)));
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir(cache, repo), "blobs"), "*.incomplete"));
    }

    // ------------------------------------------------------------------ downloads and layout

    [Fact]
    public async Task DownloadsOnlyWhatAModelNeedsInHuggingfaceHubLayout()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        var env = NewEnv(hub);

        var (snapshot, output) = await Download(Settings(env), "org/gpt2-tiny");

        var needed = new[] { "config.json", "model.safetensors", "generation_config.json", "tokenizer.json" };
        Assert.Equal(sha, snapshot.CommitSha);
        Assert.Equal(Path.Combine(RepoDir(env.Cache, "org/gpt2-tiny"), "snapshots", sha), snapshot.Path);
        Assert.Equal(needed.Order(), snapshot.Files.Order());
        AssertPythonLayout(env.Cache, "org/gpt2-tiny", sha, files, needed);
        Assert.Equal(needed.Select(n => Etag(n, files[n])).Order(),
            Directory.GetFiles(Path.Combine(RepoDir(env.Cache, "org/gpt2-tiny"), "blobs")).Select(Path.GetFileName).Order());
        Assert.Equal(Encoding.ASCII.GetBytes(sha), File.ReadAllBytes(Path.Combine(RepoDir(env.Cache, "org/gpt2-tiny"), "refs", "main")));
        foreach (var unwanted in new[] { "case.json", "expected.safetensors", "README.md", "onnx/model.onnx" })
            Assert.DoesNotContain(hub.Requests, r => r.File == unwanted);
        Assert.Single(hub.Requests, r => r.Path.StartsWith("/api/models/org/gpt2-tiny/revision/main", StringComparison.Ordinal));
        Assert.Contains("downloaded 4/4 files", output);
        // LFS files went through the CDN redirect like on huggingface.co; small files came from resolve/ directly.
        Assert.Contains(hub.Requests, r => r.Method == "GET" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.File == "model.safetensors");
        Assert.Contains(hub.Requests, r => r.Method == "GET" && r.Path == $"/org/gpt2-tiny/resolve/{sha}/config.json");

        // Again on the branch: one API request to learn the sha, no file request. On the sha itself: none at all.
        var before = hub.Requests.Count;
        var (again, againOutput) = await Download(Settings(env), "org/gpt2-tiny");
        Assert.Equal(before + 1, hub.Requests.Count);
        Assert.Equal(snapshot.Path, again.Path);
        Assert.Equal("", againOutput);
        await Download(Settings(env), "org/gpt2-tiny", sha);
        Assert.Equal(before + 1, hub.Requests.Count);
    }

    [Fact]
    public async Task ShardedSafetensorsComeWithEveryShardAndBeatPytorchWeights()
    {
        using var hub = new FakeHub();
        var shard1 = Fixture($"{Gpt2}/model.safetensors");
        var shard2 = Fixture("models/llama-tiny/model.safetensors");
        var index = JsonSerializer.SerializeToUtf8Bytes(new
        {
            metadata = new { total_size = shard1.Length + shard2.Length },
            weight_map = new Dictionary<string, string>
            {
                ["a.weight"] = "model-00001-of-00002.safetensors",
                ["b.weight"] = "model-00002-of-00002.safetensors",
                ["c.weight"] = "model-00001-of-00002.safetensors",
            },
        });
        var files = new Dictionary<string, byte[]>
        {
            ["config.json"] = Fixture($"{Gpt2}/config.json"),
            ["model.safetensors.index.json"] = index,
            ["model-00001-of-00002.safetensors"] = shard1,
            ["model-00002-of-00002.safetensors"] = shard2,
            ["pytorch_model.bin"] = new byte[5000],
            ["spiece.model"] = Fixture("tokenizers/t5-unigram/spiece.model"),
            ["tokenizer_config.json"] = "{}"u8.ToArray(),
        };
        var sha = hub.AddRepo("org/sharded", files);
        var env = NewEnv(hub);

        var (snapshot, _) = await Download(Settings(env), "org/sharded");

        var needed = new[] { "config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "spiece.model", "tokenizer_config.json" };
        Assert.Equal(needed.Order(), snapshot.Files.Order());
        AssertPythonLayout(env.Cache, "org/sharded", sha, files, needed);
        Assert.DoesNotContain(hub.Requests, r => r.File == "pytorch_model.bin");

        // Offline, the index tells which shards must be there.
        File.Delete(Path.Combine(snapshot.Path, "model-00002-of-00002.safetensors"));
        var offline = Settings(env) with { Offline = true };
        var (error, _) = await DownloadFails(offline, "org/sharded");
        Assert.Contains("model-00002-of-00002.safetensors", error.Message);
    }

    [Fact]
    public async Task PytorchWeightsAreTheFallbackAndMissingWeightsAreNamed()
    {
        using var hub = new FakeHub();
        var bin = RandomNumberGenerator.GetBytes(70_000);
        var files = new Dictionary<string, byte[]> { ["config.json"] = "{\"model_type\":\"bert\"}"u8.ToArray(), ["pytorch_model.bin"] = bin, ["vocab.txt"] = "[PAD]\n"u8.ToArray() };
        var sha = hub.AddRepo("org/old", files);
        var shardA = RandomNumberGenerator.GetBytes(3000);
        var shardedBin = new Dictionary<string, byte[]>
        {
            ["config.json"] = "{}"u8.ToArray(),
            ["pytorch_model.bin.index.json"] = """{"weight_map":{"x":"pytorch_model-00001-of-00001.bin"}}"""u8.ToArray(),
            ["pytorch_model-00001-of-00001.bin"] = shardA,
        };
        var sha2 = hub.AddRepo("org/old-sharded", shardedBin);
        hub.AddRepo("org/no-weights", new Dictionary<string, byte[]> { ["config.json"] = "{}"u8.ToArray(), ["README.md"] = "x"u8.ToArray() });
        var env = NewEnv(hub);

        var (snapshot, _) = await Download(Settings(env), "org/old");
        AssertPythonLayout(env.Cache, "org/old", sha, files, ["config.json", "pytorch_model.bin", "vocab.txt"]);
        Assert.Equal(3, snapshot.Files.Count);

        await Download(Settings(env), "org/old-sharded");
        AssertPythonLayout(env.Cache, "org/old-sharded", sha2, shardedBin, ["config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00001.bin"]);

        var (error, _) = await DownloadFails(Settings(env), "org/no-weights");
        Assert.Equal(HubErrorKind.NotFound, error.Kind);
        Assert.Contains("org/no-weights", error.Message);
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("pytorch_model.bin", error.Message);
    }

    // ------------------------------------------------------------------ faults

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

    // ------------------------------------------------------------------ cache only

    [Fact]
    public async Task OfflineWithCompleteCacheMakesNoRequest()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        var env = NewEnv(hub);
        var (online, _) = await Download(Settings(env), "org/gpt2-tiny");
        hub.Requests.Clear();
        var connections = hub.Connections;

        env.Vars["HF_HUB_OFFLINE"] = "1";
        var settings = Settings(env);
        Assert.True(settings.Offline);
        var (offline, output) = await Download(settings, "org/gpt2-tiny");
        var (bySha, _) = await Download(settings, "org/gpt2-tiny", sha);
        Assert.Empty(hub.Requests);
        Assert.Equal(connections, hub.Connections);
        Assert.Equal(online.Path, offline.Path);
        Assert.Equal(sha, offline.CommitSha);
        Assert.Equal(online.Files.Order(), offline.Files.Order());
        Assert.Equal(online.Path, bySha.Path);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task OfflineWithMissingFileNamesRepoFileAndCachePath()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        var sha = hub.AddRepo("org/gpt2-tiny", files);
        var env = NewEnv(hub);
        var (online, _) = await Download(Settings(env), "org/gpt2-tiny");
        File.Delete(Path.Combine(online.Path, "model.safetensors"));
        hub.Requests.Clear();
        var connections = hub.Connections;
        env.Vars["HF_HUB_OFFLINE"] = "true";

        var (error, _) = await DownloadFails(Settings(env), "org/gpt2-tiny");
        Assert.Equal(HubErrorKind.NotCached, error.Kind);
        Assert.Contains("org/gpt2-tiny", error.Message);
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains(online.Path, error.Message);
        Assert.Contains(sha, error.Message);

        // Never downloaded at all: no refs/main to go by.
        var empty = NewEnv(hub, ("HF_HUB_OFFLINE", "1"));
        var (none, _) = await DownloadFails(Settings(empty), "org/other-model");
        Assert.Contains("org/other-model", none.Message);
        Assert.Contains("refs/main", none.Message);
        Assert.Contains(RepoDir(empty.Cache, "org/other-model"), none.Message);
        Assert.Empty(hub.Requests);
        Assert.Equal(connections, hub.Connections);
    }

    [Fact]
    public async Task HandLaidHuggingfaceHubCacheIsUsedWithoutDownloading()
    {
        using var hub = new FakeHub();
        var env = NewEnv(hub);
        var files = Gpt2Files();
        var sha = NewSha();
        // As Python's huggingface_hub leaves it: blobs by ETag, relative symlinks, refs/main, a stale .lock.
        var repoDir = RepoDir(env.Cache, "org/from-python");
        var snapshotDir = Path.Combine(repoDir, "snapshots", sha);
        Directory.CreateDirectory(Path.Combine(repoDir, "blobs"));
        Directory.CreateDirectory(snapshotDir);
        Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
        Directory.CreateDirectory(Path.Combine(env.Cache, ".locks", "models--org--from-python"));
        foreach (var name in new[] { "config.json", "model.safetensors", "tokenizer.json" })
        {
            var etag = Etag(name, files[name]);
            File.WriteAllBytes(Path.Combine(repoDir, "blobs", etag), files[name]);
            File.CreateSymbolicLink(Path.Combine(snapshotDir, name), $"../../blobs/{etag}");
            File.WriteAllText(Path.Combine(env.Cache, ".locks", "models--org--from-python", etag + ".lock"), "");
        }
        File.WriteAllText(Path.Combine(repoDir, "refs", "main"), sha);

        // By sha, online: nothing to ask. Offline by branch: refs/main.
        var (bySha, _) = await Download(Settings(env), "org/from-python", sha);
        var (offline, _) = await Download(Settings(env) with { Offline = true }, "org/from-python", "main");
        Assert.Equal(0, hub.Connections);
        foreach (var snapshot in new[] { bySha, offline })
        {
            Assert.Equal(snapshotDir, snapshot.Path);
            Assert.Equal(sha, snapshot.CommitSha);
            Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer.json" }.Order(), snapshot.Files.Order());
        }

        // Online by branch: the API says the same sha, so nothing else is fetched; the missing optional file is.
        hub.AddRepo("org/from-python", files, sha: sha);
        var (byBranch, _) = await Download(Settings(env), "org/from-python");
        Assert.Equal(snapshotDir, byBranch.Path);
        Assert.DoesNotContain(hub.Requests, r => r.File is "config.json" or "model.safetensors" or "tokenizer.json");
        Assert.Contains(hub.Requests, r => r.Method == "GET" && r.File == "generation_config.json");
        AssertPythonLayout(env.Cache, "org/from-python", sha, files, ["config.json", "model.safetensors", "tokenizer.json", "generation_config.json"]);
    }

    [Fact]
    public async Task UnwritableCacheGivesAClearErrorAndLeavesNoPartialBlob()
    {
        using var hub = new FakeHub();
        var files = Gpt2Files();
        hub.AddRepo("org/gpt2-tiny", files);

        // The cache folder is a file (tests run as root, so chmod would not stop writes).
        var env = NewEnv(hub);
        Directory.CreateDirectory(Path.GetDirectoryName(env.Cache)!);
        File.WriteAllText(env.Cache, "not a folder");
        var (error, _) = await DownloadFails(Settings(env), "org/gpt2-tiny");
        Assert.Equal(HubErrorKind.CacheWrite, error.Kind);
        Assert.Contains(env.Cache, error.Message);
        Assert.Contains("HF_HUB_CACHE", error.Message);

        // blobs/ is a file.
        var env2 = NewEnv(hub);
        Directory.CreateDirectory(RepoDir(env2.Cache, "org/gpt2-tiny"));
        File.WriteAllText(Path.Combine(RepoDir(env2.Cache, "org/gpt2-tiny"), "blobs"), "");
        var (error2, _) = await DownloadFails(Settings(env2), "org/gpt2-tiny");
        Assert.Equal(HubErrorKind.CacheWrite, error2.Kind);
        Assert.Contains(env2.Cache, error2.Message);

        // A full disk: the partial file is /dev/full, so writing fails with ENOSPC mid-download.
        if (File.Exists("/dev/full"))
        {
            var env3 = NewEnv(hub);
            var blobs = Path.Combine(RepoDir(env3.Cache, "org/gpt2-tiny"), "blobs");
            Directory.CreateDirectory(blobs);
            var etag = Sha256(files["model.safetensors"]);
            File.CreateSymbolicLink(Path.Combine(blobs, etag + ".incomplete"), "/dev/full");
            var (full, _) = await DownloadFails(Settings(env3) with { MaxParallelDownloads = 1 }, "org/gpt2-tiny");
            Assert.Equal(HubErrorKind.CacheWrite, full.Kind);
            Assert.Contains("No space left", full.InnerException?.Message);
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(blobs), f => Path.GetFileName(f).StartsWith(etag, StringComparison.Ordinal));
            Assert.Single(hub.Requests, r => r.Method == "GET" && r.File == "model.safetensors");
        }
    }

    // ------------------------------------------------------------------ settings

    [Fact]
    public void SettingsFollowHuggingfaceHubEnvironmentVariables()
    {
        var root = Repo.TempDir();
        HubSettings From(params (string, string)[] vars)
        {
            var d = vars.ToDictionary(v => v.Item1, v => v.Item2);
            return HubSettings.FromEnvironment(k => d.GetValueOrDefault(k));
        }

        var defaults = From(("HOME", root));
        Assert.Equal(Path.Combine(root, ".cache", "huggingface", "hub"), defaults.CacheDir);
        Assert.Equal("https://huggingface.co", defaults.Endpoint);
        Assert.Null(defaults.Token);
        Assert.False(defaults.Offline);

        Assert.Equal(Path.Combine(root, "xdg", "huggingface", "hub"), From(("HOME", root), ("XDG_CACHE_HOME", Path.Combine(root, "xdg"))).CacheDir);
        Assert.Equal(Path.Combine(root, "hfh", "hub"), From(("HOME", root), ("HF_HOME", Path.Combine(root, "hfh"))).CacheDir);
        Assert.Equal(Path.Combine(root, "c"), From(("HOME", root), ("HF_HOME", Path.Combine(root, "hfh")), ("HF_HUB_CACHE", Path.Combine(root, "c"))).CacheDir);
        Assert.Equal(Path.Combine(root, "tilde"), From(("HOME", root), ("HF_HUB_CACHE", "~/tilde")).CacheDir);
        Assert.Equal("http://127.0.0.1:1", From(("HOME", root), ("HF_ENDPOINT", "http://127.0.0.1:1/")).Endpoint);
        foreach (var yes in new[] { "1", "ON", "yes", "True" }) Assert.True(From(("HOME", root), ("HF_HUB_OFFLINE", yes)).Offline);
        foreach (var no in new[] { "0", "false", "" }) Assert.False(From(("HOME", root), ("HF_HUB_OFFLINE", no)).Offline);

        // Token: HF_TOKEN, else the file at HF_TOKEN_PATH, else $HF_HOME/token.
        Directory.CreateDirectory(Path.Combine(root, "hfh"));
        File.WriteAllText(Path.Combine(root, "hfh", "token"), "  hf_from_home_file\n");
        File.WriteAllText(Path.Combine(root, "other-token"), "hf_from_path\n");
        Assert.Equal("hf_from_home_file", From(("HOME", root), ("HF_HOME", Path.Combine(root, "hfh"))).Token);
        Assert.Equal("hf_from_path", From(("HOME", root), ("HF_HOME", Path.Combine(root, "hfh")), ("HF_TOKEN_PATH", Path.Combine(root, "other-token"))).Token);
        var env = From(("HOME", root), ("HF_HOME", Path.Combine(root, "hfh")), ("HF_TOKEN", "hf_from_env"));
        Assert.Equal("hf_from_env", env.Token);
        Assert.DoesNotContain("hf_from_env", env.ToString());
        Assert.Contains("(set)", env.ToString());

        Assert.Equal(TimeSpan.FromSeconds(2.5), From(("HOME", root), ("HF_HUB_DOWNLOAD_TIMEOUT", "2.5")).ReadTimeout);
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("org/../x")]
    [InlineData("org/name/extra")]
    [InlineData("org--x/name")]
    [InlineData("")]
    public async Task UnsafeRepoIdsAreRejectedBeforeAnyRequest(string repoId)
    {
        using var hub = new FakeHub();
        using var client = new HubClient(Settings(NewEnv(hub)));
        await Assert.ThrowsAsync<ArgumentException>(() => client.DownloadAsync(repoId, "main", CancellationToken.None));
        Assert.Equal(0, hub.Connections);
    }

    [Fact]
    public async Task ShardNamesThatLeaveTheSnapshotAreRejected()
    {
        using var hub = new FakeHub();
        hub.AddRepo("org/evil", new Dictionary<string, byte[]>
        {
            ["config.json"] = "{}"u8.ToArray(),
            ["model.safetensors.index.json"] = """{"weight_map":{"x":"../../../../escape.safetensors"}}"""u8.ToArray(),
        });
        var env = NewEnv(hub);
        var (error, _) = await DownloadFails(Settings(env), "org/evil");
        Assert.Equal(HubErrorKind.BadResponse, error.Kind);
        Assert.Contains("unsafe", error.Message);
        Assert.False(File.Exists(Path.Combine(env.Cache, "escape.safetensors")));
    }
}

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
