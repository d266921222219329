using System.Diagnostics;
using System.Text;
using Tta.Store;

namespace Tta.Tests.Download;

/// <summary>A <c>source: hub</c> model through the real stages, against a fake Hub on 127.0.0.1.</summary>
[Trait("Lane", "Full")]
public class HubPipelineTests
{
    internal const string Yaml = """
        name: tiny
        models:
          - id: org/bert-tiny
            source: hub
            revision: main
            name: tiny
        texts:
          - name: one
            text: "the cat sat on the mat."
        figures:
          formats: [png]
          cell_pixels: 8
        """;

    /// <summary>Runs a tta-cli verb in a child process with the Hub environment (env vars are per process).</summary>
    internal static (int Code, string Output) CliProcess(TinyWorkspace ws, IDictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "tta-cli.dll") }.Concat(ws.Args(args[0], args[1..])))
            start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        start.Environment.Remove("HF_TOKEN");
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output.Result + error);
    }

    [Fact]
    public async Task HubModelIsDownloadedIntoTheHubCacheRunsEndToEndAndThenWorksOffline()
    {
        using var hub = new FakeHub();
        var fixture = FixtureCheck.ModelDir("bert-tiny");
        var sha = hub.AddRepo("org/bert-tiny", new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(Path.Combine(fixture, "config.json")),
            ["model.safetensors"] = File.ReadAllBytes(Path.Combine(fixture, "model.safetensors")),
            ["vocab.txt"] = Encoding.UTF8.GetBytes(TinyWorkspace.Vocab(320)),
            ["expected.safetensors"] = File.ReadAllBytes(Path.Combine(fixture, "expected.safetensors")), // not needed: never fetched
        });
        var ws = new TinyWorkspace(Yaml);
        var hfCache = Path.Combine(ws.Root, "hf-cache");
        var env = new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HUB_CACHE"] = hfCache,
            ["HF_HOME"] = Path.Combine(ws.Root, "hf-home"),
        };

        var (code, output) = CliProcess(ws, env, "run", "--stage=Download");
        Assert.True(code == 0, output);
        Assert.Contains($"commit {sha}", output);
        var snapshot = Path.Combine(hfCache, "models--org--bert-tiny", "snapshots", sha);
        Assert.True(new FileInfo(Path.Combine(snapshot, "model.safetensors")).LinkTarget is not null, "snapshot files are links into blobs/");
        Assert.False(File.Exists(Path.Combine(snapshot, "expected.safetensors")));
        Assert.Equal(sha, File.ReadAllText(Path.Combine(hfCache, "models--org--bert-tiny", "refs", "main")).Trim());

        foreach (var stage in new[] { "Extract", "Metrics", "Figures" })
        {
            var (c, o) = ws.Cli("run", $"--stage={stage}");
            Assert.True(c == 0, $"{stage}: {o}");
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(ws.FiguresDir, "tiny", "tiny", "one"), "*.png"));
        var (metadata, _) = await VectorStoreReader.ReadAsync(Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "activations.parquet"));
        Assert.Equal("main", metadata["tta.revision"]);
        Assert.Equal(sha, metadata["tta.revision_sha"]);

        // Offline, a forced Download finds everything in the cache and asks the Hub for nothing.
        var requests = hub.Requests.Count;
        env["HF_HUB_OFFLINE"] = "1";
        (code, output) = CliProcess(ws, env, "run", "--stage=Download", "--force-stage=Download");
        Assert.True(code == 0, output);
        Assert.Equal(requests, hub.Requests.Count);
        Assert.All(new[] { "Extract", "Metrics", "Figures" }, s => Assert.Equal(0, ws.Cli("status", $"--stage={s}").Code));
    }
}
