using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Tta.Archive;
using Tta.Figures;

namespace Tta.Tests.Archive;

/// <summary>One tiny experiment, fully built and archived once for all archive tests.</summary>
public sealed class ArchivedTinyExperiment
{
    public const string TokenMarker = "hf_TESTTOKENMARKER0123456789abcdef";

    public TinyWorkspace Workspace { get; }
    public string ArchivePath { get; }
    public string Home { get; }
    public string ArchiveOutput { get; }

    public ArchivedTinyExperiment()
    {
        Home = Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        // The experiment file mentions the token, the home folder and the workspace root, so the archive has
        // something to hide in every member kind that can be rewritten.
        Workspace = new TinyWorkspace();
        Workspace.WriteExperiment(
            $"# fetched with {TokenMarker} from {Home}/models and {Workspace.Root}/experiments/model\n" + TinyWorkspace.DefaultYaml);
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" })
        {
            var (code, output) = Workspace.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
        var previous = Environment.GetEnvironmentVariable("HF_TOKEN");
        Environment.SetEnvironmentVariable("HF_TOKEN", TokenMarker);
        try
        {
            var (code, output) = Workspace.Cli("archive");
            Assert.True(code == 0, output);
            ArchiveOutput = output;
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_TOKEN", previous);
        }
        var archives = Directory.GetFiles(Path.Combine(Workspace.FiguresDir, "archives"), "*.zip");
        ArchivePath = Assert.Single(archives);
    }

    public static Dictionary<string, byte[]> Members(string zipPath)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        }, StringComparer.Ordinal);
    }

    /// <summary>A copy of the archive with members replaced (same member order), for damage tests.</summary>
    public string CopyWith(Func<string, byte[], byte[]> change) => CopyWith(ArchivePath, change);

    /// <summary>A copy of <paramref name="archive"/> with members replaced (same member order).</summary>
    public static string CopyWith(string archive, Func<string, byte[], byte[]> change)
    {
        var path = Path.Combine(Repo.TempDir(), Path.GetFileName(archive));
        using var source = ZipFile.OpenRead(archive);
        using var target = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var e in source.Entries)
        {
            byte[] bytes;
            using (var s = e.Open())
            using (var ms = new MemoryStream())
            {
                s.CopyTo(ms);
                bytes = ms.ToArray();
            }
            using var w = target.CreateEntry(e.FullName).Open();
            w.Write(change(e.FullName, bytes));
        }
        return path;
    }
}

[Trait("Lane", "Full")]
public class ArchiveTests(ArchivedTinyExperiment built) : IClassFixture<ArchivedTinyExperiment>
{
    private const string Figure = "figures/tiny/tiny/one/encoder-L02-hidden_states.2-cosine";

    private (int Code, string Output) Verify(string archive) => built.Workspace.Cli("verify", $"--archive={archive}");

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public void ArchiveHoldsTheExperimentItsOutputsAndNothingElse()
    {
        Assert.Matches(@"^tiny-\d{8}-\d{6}\.zip$", Path.GetFileName(built.ArchivePath));
        Assert.Contains("archived 'tiny': figures/archives/tiny-", built.ArchiveOutput);
        var names = ArchivedTinyExperiment.Members(built.ArchivePath).Keys.ToList();
        // Deterministic order: data members sorted, then the crate metadata, then the checksum list.
        var data = names.Take(names.Count - 2).ToList();
        Assert.Equal(data.Order(StringComparer.Ordinal), data);
        Assert.Equal(["ro-crate-metadata.json", "SHA256SUMS"], names.TakeLast(2));

        // The per-text figures (with their thumbnails) are archived, and the explorer page.
        var figures = Directory.GetFiles(Path.Combine(built.Workspace.FiguresDir, "tiny"), "*", SearchOption.AllDirectories)
            .Select(f => "figures/" + Path.GetRelativePath(built.Workspace.FiguresDir, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
        var expected = new List<string> { "experiment/tiny.yaml", "experiment/texts/one.txt", "run-manifest.json" };
        foreach (var text in new[] { "one", "two" })
        {
            expected.Add($"cache/extract/tiny/tiny/{text}/activations.parquet");
            expected.Add($"cache/extract/tiny/tiny/{text}/manifest.json");
            expected.Add($"cache/metrics/tiny/tiny/{text}/similarity.parquet");
            expected.Add($"cache/metrics/tiny/tiny/{text}/manifest.json");
            expected.Add($"cache/figures/tiny/tiny/{text}/manifest.json");
        }
        expected.Add("cache/figures/tiny/explorer.manifest.json");
        var download = Assert.Single(names, n => n.StartsWith("cache/download/", StringComparison.Ordinal));
        expected.Add(download);
        expected.AddRange(figures);
        Assert.Equal(2 * 3 * 2 * 2 + 1 + 2 * 3 * 2, figures.Count()); // figures, the explorer page, a thumbnail per PNG
        Assert.Equal(expected.Order(StringComparer.Ordinal), data);

        // Archived outputs are the cached files, byte for byte; model weights are not archived.
        var members = ArchivedTinyExperiment.Members(built.ArchivePath);
        Assert.Equal(File.ReadAllBytes(Path.Combine(built.Workspace.CacheDir, "extract/tiny/tiny/one/activations.parquet")),
            members["cache/extract/tiny/tiny/one/activations.parquet"]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(built.Workspace.FiguresDir, "tiny/tiny/one/encoder-L02-hidden_states.2-cosine.pdf")),
            members[Figure + ".pdf"]);
        var weights = File.ReadAllBytes(Path.Combine(built.Workspace.Root, "experiments/model/model.safetensors"));
        Assert.DoesNotContain(members.Values, v => v.AsSpan().IndexOf(weights.AsSpan(0, 4096)) >= 0);
    }

    [Fact]
    public void RoundTripVerifies()
    {
        var (code, output) = Verify(built.ArchivePath);
        Assert.True(code == 0, output);
        Assert.True(output.Contains("36 regenerated figure file(s) are identical", StringComparison.Ordinal), output);
        var report = ArchiveVerifier.Verify(built.ArchivePath, TextWriter.Null);
        Assert.Empty(report.Problems);
        Assert.Equal(ArchivedTinyExperiment.Members(built.ArchivePath).Count, report.MembersChecked);
        Assert.Equal(2 * 18, report.FiguresCompared); // 2 texts × 3 layers × 2 measures × (2 formats + a thumbnail of the PNG)
    }

    [Fact]
    public void ChecksumsPassTheRealSha256sumTool()
    {
        var dir = Repo.TempDir();
        ZipFile.ExtractToDirectory(built.ArchivePath, dir);
        var start = new ProcessStartInfo("sha256sum", "--check --strict SHA256SUMS")
        { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, output);
        Assert.Equal(ArchivedTinyExperiment.Members(built.ArchivePath).Count - 1, output.Split('\n').Count(l => l.EndsWith(": OK", StringComparison.Ordinal)));
    }

    public static TheoryData<string> DamagedMembers => new()
    {
        "experiment/tiny.yaml",
        "experiment/texts/one.txt",
        "cache/extract/tiny/tiny/one/activations.parquet",
        "cache/metrics/tiny/tiny/two/similarity.parquet",
        Figure + ".png",
        Figure + ".pdf",
        "run-manifest.json",
        "cache/extract/tiny/tiny/two/manifest.json",
        "ro-crate-metadata.json",
        "SHA256SUMS",
    };

    [Theory]
    [MemberData(nameof(DamagedMembers))]
    public void AFlippedByteIsReportedByName(string member)
    {
        var damaged = built.CopyWith((name, bytes) =>
        {
            if (name != member) return bytes;
            var copy = (byte[])bytes.Clone();
            copy[copy.Length / 2] ^= 0x01;
            return copy;
        });
        var (code, output) = Verify(damaged);
        Assert.NotEqual(0, code);
        Assert.Contains($"FAILED {member}:", output);
        // Other members are not blamed for the checksum of the damaged one.
        var blamed = output.Split('\n').Where(l => l.StartsWith("FAILED ", StringComparison.Ordinal) && l.Contains("SHA-256", StringComparison.Ordinal))
            .Select(l => l["FAILED ".Length..l.IndexOf(':')]).Distinct().ToList();
        Assert.All(blamed, b => Assert.Equal(member, b));
    }

    [Fact]
    public void AFigureThatDoesNotMatchItsParquetIsReportedEvenWithConsistentChecksums()
    {
        // Swap one PNG for another figure of the same archive and fix SHA256SUMS and the crate to match: only the
        // regeneration can notice.
        var members = ArchivedTinyExperiment.Members(built.ArchivePath);
        var target = Figure + ".png";
        var other = members[Figure.Replace("cosine", "dot", StringComparison.Ordinal) + ".png"];
        var oldSha = Sha256(members[target]);
        var newSha = Sha256(other);
        var crate = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(members["ro-crate-metadata.json"]).Replace(oldSha, newSha, StringComparison.Ordinal));
        var damaged = built.CopyWith((name, bytes) => name switch
        {
            _ when name == target => other,
            "ro-crate-metadata.json" => crate,
            "SHA256SUMS" => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes)
                .Replace(oldSha, newSha, StringComparison.Ordinal)
                .Replace(Sha256(members["ro-crate-metadata.json"]), Sha256(crate), StringComparison.Ordinal)),
            _ => bytes,
        });
        var (code, output) = Verify(damaged);
        Assert.NotEqual(0, code);
        var failures = output.Split('\n').Where(l => l.StartsWith("FAILED ", StringComparison.Ordinal)).ToList();
        // Only the figure: its thumbnail (regenerated with it) and the page (which links it) are the archived ones.
        var failure = Assert.Single(failures);
        Assert.StartsWith($"FAILED {target}: differs from the figure regenerated from cache/metrics/tiny/tiny/one/similarity.parquet", failure);
    }

    [Fact]
    public void AnArchiveFromOtherFigureCodeIsChecksummedNotRegeneratedAndVerifySaysSo()
    {
        // As an archive made before thumbnails (figures-5, explorer-1) records it: the unit manifests name older code,
        // and the checksums match. This tta draws other bytes, so there is nothing to compare with: Verify must say
        // what it did not prove rather than fail every file (or pass).
        var older = Resealed(text => text
            .Replace($"\"{FiguresStage.CodeVersion}\"", "\"figures-5\"", StringComparison.Ordinal)
            .Replace($"\"{Tta.Pipeline.ExplorerUnit.CodeVersion}\"", "\"explorer-1\"", StringComparison.Ordinal), out var changed);
        Assert.Equal(3, changed); // the two texts' figure units, the explorer
        var path = built.CopyWith(older);

        var report = ArchiveVerifier.Verify(path, TextWriter.Null);
        Assert.Empty(report.Problems);
        Assert.False(report.Complete);
        Assert.Equal(0, report.FiguresCompared);
        Assert.Equal(["figures of tiny/tiny/one: drawn by figures-5, this tta draws " + FiguresStage.CodeVersion,
            "figures of tiny/tiny/two: drawn by figures-5, this tta draws " + FiguresStage.CodeVersion,
            "explorer of tiny: built by explorer-1, this tta builds " + Tta.Pipeline.ExplorerUnit.CodeVersion], report.NotRegenerated);

        var (code, output) = Verify(path);
        Assert.Equal(TtaCli.NotRegenerated, code);
        Assert.Contains($"NOT REGENERATED figures of tiny/tiny/one: drawn by figures-5, this tta draws {FiguresStage.CodeVersion}", output);
        Assert.Contains("incomplete: ", output);
        Assert.DoesNotContain("FAILED", output);

        // A figure changed in such an archive is still caught, by its checksums.
        var damaged = built.CopyWith((name, bytes) => name == Figure + ".png" ? [.. bytes.Take(bytes.Length - 1), (byte)(bytes[^1] ^ 1)] : older(name, bytes));
        (code, output) = Verify(damaged);
        Assert.Equal(1, code);
        Assert.Contains($"FAILED {Figure}.png: SHA-256 mismatch", output);
        Assert.Contains("NOT REGENERATED figures of tiny/tiny/one", output);

        // The same explorer version with other page assets (its script, style or template changed): not rebuilt either.
        var otherAssets = Resealed(text => text.Replace(Tta.Explorer.ExplorerPage.AssetsSha256, new string('0', 64), StringComparison.Ordinal), out changed);
        Assert.Equal(1, changed);
        report = ArchiveVerifier.Verify(built.CopyWith(otherAssets), TextWriter.Null);
        Assert.Empty(report.Problems);
        Assert.Equal($"explorer of tiny: built by {Tta.Pipeline.ExplorerUnit.CodeVersion} with other assets (000000000000…, this tta's {Tta.Explorer.ExplorerPage.AssetsSha256[..12]}…), this tta builds {Tta.Pipeline.ExplorerUnit.CodeVersion}",
            Assert.Single(report.NotRegenerated));
        Assert.True(report.FiguresCompared > 0); // the figures were regenerated and compared
    }

    /// <summary>
    /// A change to the figure and explorer unit manifests of the archive, with SHA256SUMS and the crate made to
    /// match (as an archive made by another tta would be): for <see cref="ArchivedTinyExperiment.CopyWith"/>.
    /// </summary>
    private Func<string, byte[], byte[]> Resealed(Func<string, string> change, out int changed)
    {
        var members = ArchivedTinyExperiment.Members(built.ArchivePath);
        var edited = members.Where(m => m.Key.StartsWith("cache/figures/", StringComparison.Ordinal) && m.Key.EndsWith("manifest.json", StringComparison.Ordinal))
            .Select(m => (m.Key, Old: m.Value, New: Encoding.UTF8.GetBytes(change(Encoding.UTF8.GetString(m.Value)))))
            .Where(m => !m.Old.SequenceEqual(m.New)).ToDictionary(m => m.Key, StringComparer.Ordinal);
        changed = edited.Count;
        var crate = Encoding.UTF8.GetBytes(edited.Values.Aggregate(Encoding.UTF8.GetString(members["ro-crate-metadata.json"]),
            (text, m) => text.Replace(Sha256(m.Old), Sha256(m.New), StringComparison.Ordinal)));
        return (name, bytes) => name switch
        {
            _ when edited.TryGetValue(name, out var m) => m.New,
            "ro-crate-metadata.json" => crate,
            "SHA256SUMS" => Encoding.UTF8.GetBytes(edited.Values.Aggregate(Encoding.UTF8.GetString(bytes), (sums, m) => sums.Replace(Sha256(m.Old), Sha256(m.New), StringComparison.Ordinal))
                .Replace(Sha256(members["ro-crate-metadata.json"]), Sha256(crate), StringComparison.Ordinal)),
            _ => bytes,
        };
    }

    [Fact]
    public void AMissingOrAnExtraMemberIsReportedByName()
    {
        var target = Figure + ".pdf";
        var path = built.CopyWith((_, bytes) => bytes);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            zip.GetEntry(target)!.Delete();
            using var w = zip.CreateEntry("figures/tiny/tiny/one/extra.png").Open();
            w.Write(ArchivedTinyExperiment.Members(built.ArchivePath)[Figure + ".png"]);
        }
        var (code, output) = Verify(path);
        Assert.NotEqual(0, code);
        Assert.Contains($"FAILED {target}: missing from the archive", output);
        Assert.Contains("FAILED figures/tiny/tiny/one/extra.png: not listed in SHA256SUMS", output);
        Assert.Contains("FAILED figures/tiny/tiny/one/extra.png: not produced when regenerating", output);
    }

    [Fact]
    public void RedactionRewritesWholeFoldersOnlyAndFlagsWhatItCannotRewrite()
    {
        var r = new Redaction("/data/run", "/home/someone", ["tok_secret_123"], [("/data/run/exp", "experiment")]);
        Assert.Equal("./x experiment/t.txt /data/run2 ~/m ~ [redacted]",
            r.Rewrite("/data/run/x /data/run/exp/t.txt /data/run2 /home/someone/m /home/someone tok_secret_123"));
        Assert.Empty(r.Findings(Encoding.UTF8.GetBytes("/data/run2 and /home/someone2")));
        Assert.Equal(2, r.Findings(Encoding.UTF8.GetBytes("\0/data/run\0 tok_secret_123x")).Count());
        var json = r.Rewrite(JsonNode.Parse("""{"/data/run/a": ["/home/someone/b", 1, {"c": "tok_secret_123"}]}"""));
        Assert.Equal("""{"./a":["~/b",1,{"c":"[redacted]"}]}""", json!.ToJsonString());
    }

    [Fact]
    public void NoTokenAndNoAbsoluteRootOrHomePathInAnyMember()
    {
        var root = built.Workspace.Root;
        // The inputs did contain them (so the check can fail): the YAML and the local Download manifest.
        Assert.Contains(ArchivedTinyExperiment.TokenMarker, File.ReadAllText(built.Workspace.ExperimentPath));
        var downloadManifest = Directory.GetFiles(Path.Combine(built.Workspace.CacheDir, "download"), "*.json", SearchOption.AllDirectories).Single();
        Assert.Contains(root, File.ReadAllText(downloadManifest));

        var forbidden = new List<string> { ArchivedTinyExperiment.TokenMarker, root };
        if (built.Home.Length > 1) forbidden.Add(built.Home);
        var raw = File.ReadAllBytes(built.ArchivePath);
        foreach (var (name, bytes) in ArchivedTinyExperiment.Members(built.ArchivePath).Append(new("(zip file)", raw)))
            foreach (var f in forbidden)
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(f)) < 0, $"{name} contains {f}");
        var yaml = Encoding.UTF8.GetString(ArchivedTinyExperiment.Members(built.ArchivePath)["experiment/tiny.yaml"]);
        Assert.StartsWith("# fetched with [redacted] from ~/models and experiment/model\n", yaml);
        // Paths become relative to the archive's layout (the experiment folder is archived as experiment/).
        var download = JsonNode.Parse(ArchivedTinyExperiment.Members(built.ArchivePath)
            .Single(m => m.Key.StartsWith("cache/download/", StringComparison.Ordinal)).Value)!;
        Assert.Equal("local/experiments/model", download["unit"]!.GetValue<string>()); // project-relative: no absolute path
        Assert.Equal("\"experiment/model\"", download["components"]!["param:path"]!.GetValue<string>());
    }

    [Fact]
    public void CrateListsEveryFileWithItsSha256()
    {
        var members = ArchivedTinyExperiment.Members(built.ArchivePath);
        var crate = JsonNode.Parse(members["ro-crate-metadata.json"])!.AsObject();
        Assert.Equal("https://w3id.org/ro/crate/1.1/context", crate["@context"]![0]!.GetValue<string>());
        var graph = crate["@graph"]!.AsArray().Select(n => n!.AsObject()).ToDictionary(n => n["@id"]!.GetValue<string>());
        Assert.Equal("https://w3id.org/ro/crate/1.1", graph["ro-crate-metadata.json"]["conformsTo"]!["@id"]!.GetValue<string>());
        var root = graph["./"];
        Assert.Equal("https://w3id.org/ro/wfrun/process/0.5", root["conformsTo"]!["@id"]!.GetValue<string>());
        var parts = root["hasPart"]!.AsArray().Select(p => p!["@id"]!.GetValue<string>()).ToHashSet();
        foreach (var (name, bytes) in members.Where(m => m.Key != "ro-crate-metadata.json"))
        {
            Assert.Contains(name, parts);
            Assert.Equal("File", graph[name]["@type"]!.GetValue<string>());
            if (name == "SHA256SUMS") continue; // it lists the crate metadata's hash, so the crate cannot list its hash
            Assert.Equal(Sha256(bytes), graph[name]["sha256"]!.GetValue<string>());
            Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), graph[name]["contentSize"]!.GetValue<string>());
        }

        // One CreateAction per stage unit, each pointing at entities of the graph.
        var actions = graph.Values.Where(n => n["@type"]!.GetValue<string>() == "CreateAction").ToList();
        Assert.Equal(1 + 3 * 2 + 1, actions.Count); // Download, Extract/Metrics/Figures per text, the explorer
        foreach (var a in actions)
        {
            Assert.Equal("#tta", a["instrument"]!["@id"]!.GetValue<string>());
            foreach (var r in a["object"]!.AsArray().Concat(a["result"]!.AsArray()))
                Assert.True(graph.ContainsKey(r!["@id"]!.GetValue<string>()), r!.ToJsonString());
        }
        var figures = actions.Where(a => a["name"]!.GetValue<string>().StartsWith("Figures ", StringComparison.Ordinal) && !a["name"]!.GetValue<string>().EndsWith("/explorer", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, figures.Count);
        Assert.All(figures, f => Assert.Equal(2 * 3 * 2 + 2 * 3 + 1, f["result"]!.AsArray().Count)); // 12 figures, 6 thumbnails, manifest
        Assert.Equal("0.107.0", graph["#software-TorchSharp"]["softwareVersion"]!.GetValue<string>().Split('+')[0]);

        // Model weights are described by their real SHA-256.
        var weights = File.ReadAllBytes(Path.Combine(built.Workspace.Root, "experiments/model/model.safetensors"));
        Assert.Equal(Sha256(weights), graph["#model-tiny/model.safetensors"]["sha256"]!.GetValue<string>());
    }

    [Fact]
    public void RunManifestRecordsUnitsToolsAndMachine()
    {
        var members = ArchivedTinyExperiment.Members(built.ArchivePath);
        var run = JsonNode.Parse(members["run-manifest.json"])!;
        var stages = run["stages"]!.AsArray();
        Assert.Equal(["Download", "Extract", "Metrics", "Figures"], stages.Select(s => s!["stage"]!.GetValue<string>()));
        Assert.Equal([1, 2, 2, 3], stages.Select(s => s!["units"]!.AsArray().Count)); // Figures: 2 texts and the explorer
        // Each recorded fingerprint is the one in the archived unit manifest it names.
        foreach (var u in stages.SelectMany(s => s!["units"]!.AsArray()))
        {
            var manifest = JsonNode.Parse(members[u!["manifest"]!.GetValue<string>()])!;
            Assert.Equal(manifest["fingerprint"]!.GetValue<string>(), u["fingerprint"]!.GetValue<string>());
            Assert.Equal(manifest["seconds"]!.GetValue<double>(), u["seconds"]!.GetValue<double>());
        }
        var model = run["experiment"]!["models"]![0]!;
        Assert.Equal("bert-tiny", model["id"]!.GetValue<string>());
        var weights = File.ReadAllBytes(Path.Combine(built.Workspace.Root, "experiments/model/model.safetensors"));
        Assert.Contains(model["files"]!.AsArray(), f => f!["name"]!.GetValue<string>() == "model.safetensors" && f["sha256"]!.GetValue<string>() == Sha256(weights));
        Assert.Equal(Environment.ProcessorCount, run["machine"]!["cpu_count"]!.GetValue<int>());
        Assert.True(run["machine"]!["memory_bytes"]!.GetValue<long>() > 1L << 20);
        Assert.Equal(Environment.Version.ToString(), run["tools"]!["dotnet_version"]!.GetValue<string>());
        Assert.Equal("0.107.0", run["tools"]!["packages"]!["TorchSharp"]!.GetValue<string>().Split('+')[0]);
        Assert.Null(run["git"]); // the test workspace is not a git repository
    }

    [Fact]
    public void AnExperimentThatIsNotFullyBuiltIsNotArchived()
    {
        var ws = new TinyWorkspace();
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" })
            Assert.Equal(0, ws.Cli("run", $"--stage={stage}").Code);
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("cell_pixels: 8", "cell_pixels: 9", StringComparison.Ordinal));
        var (code, output) = ws.Cli("archive");
        Assert.Equal(1, code);
        Assert.Contains("not fully built", output);
        Assert.Contains("Figures tiny/tiny/one: param:figures.cell_pixels changed", output);
        Assert.False(Directory.Exists(Path.Combine(ws.FiguresDir, "archives")));
    }
}

/// <summary>An experiment with every optional metric: its metrics files are archived and its figures regenerate.</summary>
[Trait("Lane", "Full")]
public class ArchiveAllMetricsTests
{
    [Fact]
    public void OptionalMetricsAreArchivedAndTheirFiguresVerify()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("figures:",
            "metrics:\n  attention: { layers: [0], heads: [1] }\n  nearest: { k: 3 }\n  trajectory: true\n  projection: true\nfigures:"));
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" })
        {
            var (c, o) = ws.Cli("run", $"--stage={stage}");
            Assert.True(c == 0, $"{stage}: {o}");
        }
        var (code, output) = ws.Cli("archive");
        Assert.True(code == 0, output);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(ws.FiguresDir, "archives"), "*.zip"));
        var names = ArchivedTinyExperiment.Members(archive).Keys.ToList();
        foreach (var kind in new[] { "similarity", "attention", "nearest", "trajectory", "projection" })
            Assert.Contains($"cache/metrics/tiny/tiny/one/{kind}.parquet", names);
        Assert.Contains(names, n => n.Contains("-attention-softmax.png", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("-nearest-ip.png", StringComparison.Ordinal));
        var report = ArchiveVerifier.Verify(archive, TextWriter.Null);
        Assert.Empty(report.Problems);
        Assert.Contains(names, n => n.Contains("-projection-pca.png", StringComparison.Ordinal));
        // Every figure and thumbnail is regenerated (the explorer's page is rebuilt and compared separately).
        var figures = names.Count(n => n.StartsWith("figures/tiny/tiny/", StringComparison.Ordinal));
        Assert.Equal(figures, report.FiguresCompared);
    }
}

/// <summary>An archive is self-contained whatever <c>--cache</c> and <c>--figures</c> were when it was made.</summary>
[Trait("Lane", "Full")]
public class ArchiveOfOutsideFoldersTests(Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>
    /// The tiny experiment built and archived with its cache and figures in a sibling of the project folder, so its
    /// manifests record paths such as <c>../&lt;folder&gt;/figures/…</c>.
    /// </summary>
    private static (TinyWorkspace Workspace, string Outside, string Archive) BuildOutside()
    {
        var ws = new TinyWorkspace();
        var outside = Repo.TempDir();
        string[] folders = [$"--cache={Path.Combine(outside, "cache")}", $"--figures={Path.Combine(outside, "figures")}"];
        ws.RunAll(folders);
        var manifest = Path.Combine(outside, "cache", "figures", "tiny", "tiny", "one", "manifest.json");
        Assert.Contains($"../{Path.GetFileName(outside)}/figures/", File.ReadAllText(manifest)); // what the archive must not keep
        var (code, output) = ws.Cli("archive", folders);
        Assert.True(code == 0, output);
        return (ws, outside, Assert.Single(Directory.GetFiles(Path.Combine(outside, "figures", "archives"), "*.zip")));
    }

    private static bool IsUnitManifest(string name) =>
        name.StartsWith("cache/", StringComparison.Ordinal) && name.EndsWith("manifest.json", StringComparison.Ordinal);

    [Fact]
    public void CacheAndFiguresOutsideTheProjectAreArchivedInTheArchiveLayoutAndVerify()
    {
        var (ws, outside, archive) = BuildOutside();

        // Every unit manifest names its outputs and folders as the archive lays them out, and nothing names the
        // folders the archive was made from.
        var members = ArchivedTinyExperiment.Members(archive);
        var manifests = members.Where(m => IsUnitManifest(m.Key)).ToList();
        Assert.Equal(1 + 3 * 2 + 1, manifests.Count);
        foreach (var (name, bytes) in manifests)
        {
            var json = JsonNode.Parse(bytes)!;
            Assert.Equal("cache", json["folders"]!["cache"]!.GetValue<string>());
            Assert.Equal("figures", json["folders"]!["figures"]!.GetValue<string>());
            if (name.StartsWith("cache/download/", StringComparison.Ordinal)) continue; // the local model folder: not archived
            foreach (var o in json["outputs"]!.AsArray())
                Assert.True(members.ContainsKey(o!["path"]!.GetValue<string>()), $"{name}: output {o["path"]} is not a member");
        }
        foreach (var (name, bytes) in members)
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Path.GetFileName(outside))) < 0, $"{name} names the folder the archive was made from");
        var crate = JsonNode.Parse(members["ro-crate-metadata.json"])!["@graph"]!.AsArray();
        Assert.EndsWith("(its paths name this archive's cache/ and figures/ members, not the folders it was built in)",
            crate.Single(n => n!["@id"]!.GetValue<string>() == "cache/figures/tiny/explorer.manifest.json")!["description"]!.GetValue<string>());

        var report = ArchiveVerifier.Verify(archive, TextWriter.Null);
        Assert.Empty(report.Problems);
        Assert.True(report.Complete);
        Assert.Equal(2 * 18, report.FiguresCompared);
        var (code, output) = ws.Cli("verify", $"--archive={archive}");
        Assert.True(code == 0, output);
        Assert.Contains("rebuilt the explorer", output);
        RoCrateJs.AssertValid(members, log); // its crate, with the changed descriptions, is still valid RO-Crate
    }

    [Fact]
    public void AnArchiveWhoseManifestsNameTheFoldersItWasMadeFromStillVerifies()
    {
        // As a tta before this fix wrote it: the manifests as the cache holds them, with the checksums to match.
        var (_, outside, archive) = BuildOutside();
        var elsewhere = $"../{Path.GetFileName(outside)}";
        var older = Resealed(archive, text =>
        {
            var json = JsonNode.Parse(text)!;
            if (json["stage"]!.GetValue<string>() == "Download") return text;
            foreach (var o in json["outputs"]!.AsArray()) o!["path"] = $"{elsewhere}/{o["path"]!.GetValue<string>()}";
            json["folders"] = new JsonObject { ["cache"] = $"{elsewhere}/cache", ["figures"] = $"{elsewhere}/figures" };
            return json.ToJsonString();
        }, out var changed);
        Assert.Equal(3 * 2 + 1, changed);
        var report = ArchiveVerifier.Verify(older, TextWriter.Null);
        Assert.Empty(report.Problems);
        Assert.True(report.Complete);
    }

    [Fact]
    public void AManifestThatNamesAFileOutsideTheArchiveIsReportedAndNotRead()
    {
        // The figures manifest points at the figures where they were made (they are still there): checksums match,
        // but the explorer must be rebuilt from the archive alone.
        var (_, outside, archive) = BuildOutside();
        var target = "cache/figures/tiny/tiny/one/manifest.json";
        var outsideOutput = $"../{Path.GetFileName(outside)}/figures/tiny/tiny/one/";
        var damaged = Resealed(archive, text => text.Replace("\"figures/tiny/tiny/one/", "\"" + outsideOutput, StringComparison.Ordinal), out var changed, target);
        Assert.Equal(1, changed);
        var report = ArchiveVerifier.Verify(damaged, TextWriter.Null);
        var problem = Assert.Single(report.Problems);
        Assert.StartsWith($"{target}: names output '{outsideOutput}", problem);
        Assert.EndsWith("which is not in the archive's cache/ or figures/; the explorer is not rebuilt from it", problem);
    }

    /// <summary>
    /// A copy of <paramref name="archive"/> with its unit manifests (or only <paramref name="only"/>) changed, and
    /// SHA256SUMS and the crate made to match.
    /// </summary>
    private static string Resealed(string archive, Func<string, string> change, out int changed, string? only = null)
    {
        static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
        var members = ArchivedTinyExperiment.Members(archive);
        var edited = members.Where(m => IsUnitManifest(m.Key) && (only is null || m.Key == only))
            .Select(m => (m.Key, Old: m.Value, New: Encoding.UTF8.GetBytes(change(Encoding.UTF8.GetString(m.Value)))))
            .Where(m => !m.Old.SequenceEqual(m.New)).ToDictionary(m => m.Key, StringComparer.Ordinal);
        changed = edited.Count;
        var crate = Encoding.UTF8.GetBytes(edited.Values.Aggregate(Encoding.UTF8.GetString(members["ro-crate-metadata.json"]),
            (text, m) => text.Replace(Sha256(m.Old), Sha256(m.New), StringComparison.Ordinal)));
        return ArchivedTinyExperiment.CopyWith(archive, (name, bytes) => name switch
        {
            _ when edited.TryGetValue(name, out var m) => m.New,
            "ro-crate-metadata.json" => crate,
            "SHA256SUMS" => Encoding.UTF8.GetBytes(edited.Values.Aggregate(Encoding.UTF8.GetString(bytes), (sums, m) => sums.Replace(Sha256(m.Old), Sha256(m.New), StringComparison.Ordinal))
                .Replace(Sha256(members["ro-crate-metadata.json"]), Sha256(crate), StringComparison.Ordinal)),
            _ => bytes,
        });
    }
}
