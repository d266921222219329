using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Tta.Archive;
using Xunit.Abstractions;

namespace Tta.Tests.Archive;

/// <summary>
/// Reliability of archives: nothing absolute leaks into them (files outside the experiment folder go under
/// external/N, and the archived YAML still resolves); Verify reads hostile archives with bounded memory and refuses
/// what could escape its temporary folder; the crate passes the reference RO-Crate validator (ro-crate-js).
/// </summary>
[Trait("Lane", "Full")]
public class ArchiveSafetyTests(ArchivedTinyExperiment built, ITestOutputHelper log) : IClassFixture<ArchivedTinyExperiment>
{

    [Fact]
    public void FilesOutsideTheExperimentFolderGoUnderExternalAndNothingAbsoluteLeaks()
    {
        var ws = new TinyWorkspace();
        var outside = Repo.TempDir(); // neither under the project nor under the home folder
        var text = Path.Combine(outside, "notes", "hostname.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(text)!);
        File.WriteAllText(text, "a dog ran to the park.");
        var model = Path.Combine(outside, "models", "tiny");
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(Path.Combine(ws.Root, "experiments", "model"))) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        ws.WriteExperiment(TinyWorkspace.DefaultYaml
            .Replace("path: model", $"path: {model}", StringComparison.Ordinal)
            .Replace("text: \"a dog ran to the park!\"", $"file: {text}", StringComparison.Ordinal));
        ws.RunAll();
        var (code, output) = ws.Cli("archive");
        Assert.True(code == 0, output);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(ws.FiguresDir, "archives"), "*.zip"));
        var members = ArchivedTinyExperiment.Members(archive);

        // Member names are relative and safe, and no member holds an absolute path of this machine.
        Assert.All(members.Keys, n => Assert.Null(ArchiveMembers.UnsafeName(n)));
        var forbidden = new[] { outside, ws.Root };
        foreach (var (name, bytes) in members.Append(new("(zip)", File.ReadAllBytes(archive))))
            foreach (var f in forbidden)
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(f)) < 0, $"{name} contains {f}");

        // The text is archived under external/1/, the model folder is called external/2, and the YAML says so.
        Assert.Equal("a dog ran to the park.", Encoding.UTF8.GetString(members["external/1/hostname.txt"]));
        var yaml = Encoding.UTF8.GetString(members["experiment/tiny.yaml"]);
        Assert.Contains("file: ../external/1/hostname.txt", yaml);
        Assert.Contains("path: ../external/2", yaml);
        var dir = Repo.TempDir();
        ZipFile.ExtractToDirectory(archive, dir);
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(dir, "experiment", "../external/1/hostname.txt"))), "the archived YAML resolves its text");

        // The mapping: run manifest and crate name the YAML keys.
        var run = JsonNode.Parse(members["run-manifest.json"])!;
        var external = run["experiment"]!["external"]!.AsArray();
        Assert.Equal(["external/1/hostname.txt texts[1].file true", "external/2 models[0].path false"],
            external.Select(x => $"{x!["name"]} {x["yaml_key"]} {x["archived"]}"));
        Assert.Equal("external/2", run["experiment"]!["models"]![0]!["path"]!.GetValue<string>());
        var crate = Encoding.UTF8.GetString(members["ro-crate-metadata.json"]);
        Assert.Contains("the experiment's texts[1].file", crate);
        Assert.Contains("called external/2 here (the experiment's models[0].path)", crate);

        var report = ArchiveVerifier.Verify(archive, TextWriter.Null);
        Assert.True(report.Ok, string.Join("\n", report.Problems));
    }

    /// <summary>A copy of the tiny archive with extra entries added by <paramref name="add"/>.</summary>
    private string CopyWith(Action<ZipArchive> add)
    {
        var path = built.CopyWith((_, bytes) => bytes);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        add(zip);
        return path;
    }

    private static void Put(ZipArchive zip, string name, byte[] bytes, int? unixMode = null)
    {
        var e = zip.CreateEntry(name);
        if (unixMode is { } mode) e.ExternalAttributes = mode << 16;
        using var s = e.Open();
        s.Write(bytes);
    }

    /// <summary>
    /// Edits a member's local and central zip headers: <paramref name="edit"/> gets the file's bytes and the offsets
    /// of the header's general purpose flags and uncompressed size.
    /// </summary>
    private static void PatchHeaders(string zipPath, string member, Action<byte[], int, int> edit)
    {
        var bytes = File.ReadAllBytes(zipPath);
        var name = Encoding.UTF8.GetBytes(member);
        for (var i = 0; i + 46 < bytes.Length; i++)
        {
            var (flags, size, nameLength, nameAt) = BitConverter.ToUInt32(bytes, i) switch
            {
                0x04034b50 => (i + 6, i + 22, BitConverter.ToUInt16(bytes, i + 26), i + 30), // local file header
                0x02014b50 => (i + 8, i + 24, BitConverter.ToUInt16(bytes, i + 28), i + 46), // central directory header
                _ => (0, 0, -1, 0),
            };
            if (nameLength == name.Length && nameAt + nameLength <= bytes.Length && bytes.AsSpan(nameAt, nameLength).SequenceEqual(name))
                edit(bytes, flags, size);
        }
        File.WriteAllBytes(zipPath, bytes);
    }

    private static void SetFlag(string zipPath, string member, byte bit) =>
        PatchHeaders(zipPath, member, (bytes, flags, _) => bytes[flags] |= bit);

    /// <summary>Writes another uncompressed size into a member's headers.</summary>
    private static void SetDeclaredSize(string zipPath, string member, uint declared) =>
        PatchHeaders(zipPath, member, (bytes, _, size) => BitConverter.TryWriteBytes(bytes.AsSpan(size, 4), declared));

    [Fact]
    public void UnsafeNamesLinksEncryptedAndDuplicateMembersAreRefusedAndNothingEscapes()
    {
        var escape = $"tta-escape-{Guid.NewGuid():N}";
        var path = CopyWith(zip =>
        {
            Put(zip, $"../../{escape}", [1, 2, 3]);
            Put(zip, $"/tmp/{escape}", [1, 2, 3]);
            Put(zip, $"figures\\{escape}", [1, 2, 3]);
            Put(zip, "experiment/link.txt", Encoding.UTF8.GetBytes("/etc/passwd"), unixMode: 0xA1FF); // S_IFLNK | 0777
            Put(zip, "experiment/secret.txt", [4, 5, 6]);
            Put(zip, "experiment/tiny.yaml", [7]); // a second member of an existing name
        });
        SetFlag(path, "experiment/secret.txt", 1); // "encrypted"
        var report = ArchiveVerifier.Verify(path, TextWriter.Null);
        var problems = string.Join("\n", report.Problems);
        Assert.Contains($"../../{escape}: unsafe member name (a '..' or '.' part)", problems);
        Assert.Contains($"/tmp/{escape}: unsafe member name (an absolute path)", problems);
        Assert.Contains($"figures\\{escape}: unsafe member name (a backslash)", problems);
        Assert.Contains("experiment/link.txt: is a symbolic link", problems);
        Assert.Contains("experiment/secret.txt: is encrypted", problems);
        Assert.Contains("experiment/tiny.yaml: member appears twice", problems);
        foreach (var where in new[] { Path.GetTempPath(), Directory.GetCurrentDirectory(), Path.GetDirectoryName(Path.GetDirectoryName(path)!)!, "/tmp" })
            Assert.False(File.Exists(Path.Combine(where, escape)), $"{escape} was written in {where}");
    }

    [Fact]
    public void VerifyMemoryStaysBoundedWhateverTheMembersInflateTo()
    {
        // A figure that inflates to 600 MB (a zip bomb of zeros), a 200 MB Parquet member, and members whose declared
        // size is not what they inflate to (the reader never goes past the declared size, and notices a shortfall).
        var zeros = new byte[1 << 20];
        var path = CopyWith(zip =>
        {
            var bomb = zip.CreateEntry("figures/tiny/tiny/one/bomb.png", CompressionLevel.Fastest);
            using (var s = bomb.Open()) for (var i = 0; i < 600; i++) s.Write(zeros);
            var big = zip.CreateEntry("cache/extract/tiny/tiny/one/big.parquet", CompressionLevel.Fastest);
            using (var s = big.Open()) for (var i = 0; i < 200; i++) s.Write(zeros);
            foreach (var liar in new[] { "figures/tiny/tiny/one/short.png", "figures/tiny/tiny/one/long.png" })
                using (var s = zip.CreateEntry(liar, CompressionLevel.Fastest).Open()) for (var i = 0; i < 50; i++) s.Write(zeros);
        });
        SetDeclaredSize(path, "figures/tiny/tiny/one/short.png", 1000);
        SetDeclaredSize(path, "figures/tiny/tiny/one/long.png", 60 << 20);
        log.WriteLine($"the archive is {new FileInfo(path).Length / 1e6:0.0} MB");

        // Members are read on this thread (other tests run beside this one, so the process-wide count would not do).
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var report = ArchiveVerifier.Verify(path, TextWriter.Null);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var problems = string.Join("\n", report.Problems);
        log.WriteLine($"allocated {allocated / 1e6:0.0} MB while verifying; problems:\n{problems}");
        Assert.Contains($"figures/tiny/tiny/one/bomb.png: declares {600L << 20} bytes, more than the {VerifyOptions.Default.MaxFigureBytes} allowed", problems);
        Assert.Contains($"figures/tiny/tiny/one/long.png: cannot be read from the zip (figures/tiny/tiny/one/long.png ends after {50 << 20} of the {60 << 20} bytes it declares)", problems);
        Assert.Contains("figures/tiny/tiny/one/short.png: not listed in SHA256SUMS", problems); // read as its first 1000 bytes, no further
        Assert.Contains("cache/extract/tiny/tiny/one/big.parquet: not listed in SHA256SUMS", problems); // read (hashed), by streaming
        Assert.True(allocated < 64L << 20, $"Verify allocated {allocated / 1e6:0} MB; members must be streamed, not loaded");

        // The caps are the verifier's options: with a smaller one for data, the 200 MB Parquet member is refused unread.
        var strict = ArchiveVerifier.Verify(path, TextWriter.Null, VerifyOptions.Default with { MaxDataBytes = 100L << 20 });
        Assert.Contains($"cache/extract/tiny/tiny/one/big.parquet: declares {200L << 20} bytes, more than the {100L << 20} allowed", string.Join("\n", strict.Problems));
    }

    [Fact]
    public void TheCrateIsAValidRoCrateWithTheExperimentsLicence()
    {
        var members = ArchivedTinyExperiment.Members(built.ArchivePath);
        if (!RoCrateJs.AssertValid(members, log)) return;

        // The licence is a contextual entity: the experiment's, or the documented default.
        var crate = JsonNode.Parse(members["ro-crate-metadata.json"])!["@graph"]!.AsArray();
        var root = crate.Single(n => n!["@id"]!.GetValue<string>() == "./")!;
        Assert.Equal("https://spdx.org/licenses/CC-BY-4.0", root["license"]!["@id"]!.GetValue<string>());
        var licence = crate.Single(n => n!["@id"]!.GetValue<string>() == "https://spdx.org/licenses/CC-BY-4.0")!;
        Assert.Equal("CreativeWork", licence["@type"]!.GetValue<string>());
        Assert.Equal("CC-BY-4.0", licence["identifier"]!.GetValue<string>());
    }

    [Fact]
    public void TheLicenceComesFromTheExperiment()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("name: tiny\nmodels:", "name: tiny\nlicense: CC0-1.0\nmodels:", StringComparison.Ordinal));
        ws.RunAll();
        Assert.Equal(0, ws.Cli("archive").Code);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(ws.FiguresDir, "archives"), "*.zip"));
        var crate = JsonNode.Parse(ArchivedTinyExperiment.Members(archive)["ro-crate-metadata.json"])!["@graph"]!.AsArray();
        Assert.Equal("https://spdx.org/licenses/CC0-1.0", crate.Single(n => n!["@id"]!.GetValue<string>() == "./")!["license"]!["@id"]!.GetValue<string>());
        Assert.Contains(crate, n => n!["@id"]!.GetValue<string>() == "https://spdx.org/licenses/CC0-1.0" && n["name"]!.GetValue<string>() == "CC0-1.0");
    }
}
