using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tta.Download.Hub;

namespace Tta.Tests.Download;

/// <summary>
/// The Hugging Face Hub client against a fake Hub on 127.0.0.1 (<see cref="FakeHub"/>): what it downloads and how it lays
/// out the huggingface_hub cache, and its settings; its faults and its cache alone are in the other parts of this class.
/// </summary>
public partial class HubClientTests
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
