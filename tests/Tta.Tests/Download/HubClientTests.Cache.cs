using Tta.Download.Hub;

namespace Tta.Tests.Download;

/// <summary>The Hub client on its cache alone: offline runs, a hand-laid huggingface_hub cache, an unwritable cache.</summary>
public partial class HubClientTests
{
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
}
