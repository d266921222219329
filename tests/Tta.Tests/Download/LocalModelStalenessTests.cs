using System.Text.Json.Nodes;

namespace Tta.Tests.Download;

/// <summary>
/// A <c>source: local</c> model's Download unit records the folder's checkpoint files (config, weights, tokenizer);
/// a checkpoint file added to or removed from the folder, or one whose bytes change, makes it stale, and Extract
/// follows through its <c>in:Download:…</c> component. Files that are not checkpoint files do not count.
/// </summary>
public class LocalModelStalenessTests
{
    private const string DownloadKey = "in:Download:local/experiments/t5";

    private static TinyWorkspace FlanT5(bool withTokenizer)
    {
        var ws = new TinyWorkspace("""
            name: tiny
            models:
              - { id: flan-t5-tiny, source: local, path: t5, name: t5 }
            texts:
              - { name: one, text: "the cat sat on the mat." }
            figures:
              formats: [png]
              cell_pixels: 8
            """);
        if (withTokenizer) ws.AddFlanT5Tiny();
        else ws.AddModelWeights("flan-t5-tiny", "t5");
        return ws;
    }

    private static string ModelDir(TinyWorkspace ws) => Path.Combine(ws.Root, "experiments", "t5");

    private static void AddTokenizer(TinyWorkspace ws) =>
        File.Copy(Repo.Fixture("tokenizers/t5-unigram-json/tokenizer.json"), Path.Combine(ModelDir(ws), "tokenizer.json"));

    private static JsonNode DownloadManifest(TinyWorkspace ws) =>
        JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(ws.CacheDir, "download", "local"), "*.manifest.json").Single()))!;

    private static JsonNode ExtractManifest(TinyWorkspace ws) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ws.CacheDir, "extract", "tiny", "t5", "one", "manifest.json")))!;

    private static string[] RecordedFiles(TinyWorkspace ws) =>
        DownloadManifest(ws)["outputs"]!.AsArray().Select(o => Path.GetFileName(o!["path"]!.GetValue<string>())).ToArray();

    private static void Run(TinyWorkspace ws, string stage)
    {
        var (code, output) = ws.Cli("run", $"--stage={stage}");
        Assert.True(code == 0, $"{stage}: {output}");
    }

    /// <summary>The status of a stage: true when every unit is up to date; the explanation otherwise.</summary>
    private static (bool UpToDate, string Output) Status(TinyWorkspace ws, string stage)
    {
        var (code, output) = ws.Cli("status", $"--stage={stage}", "--explain");
        Assert.True(code is 0 or 3, output);
        return (code == 0, output);
    }

    /// <summary>
    /// The reported case: a first run without a tokenizer fails in Extract; tokenizer.json added to the folder makes
    /// Download stale, and its rerun records it, so the tokenizer is among the model's recorded inputs.
    /// </summary>
    [Fact]
    public void ATokenizerAddedToTheFolderMakesDownloadStaleAndIsRecorded()
    {
        var ws = FlanT5(withTokenizer: false);
        Run(ws, "Download");
        Assert.DoesNotContain("tokenizer.json", RecordedFiles(ws));
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code != 0, output);
        Assert.Contains("no tokenizer this version can read", output);

        AddTokenizer(ws);
        var (upToDate, explained) = Status(ws, "Download");
        Assert.False(upToDate, explained);
        Assert.Contains("experiments/t5/tokenizer.json", explained);
        Run(ws, "Download");
        Assert.Contains("tokenizer.json", RecordedFiles(ws));
        Assert.True(Status(ws, "Download").UpToDate);
        Run(ws, "Extract");
        Assert.True(Status(ws, "Extract").UpToDate);

        // Removed again: Download is stale, and Extract, which read it, must be rebuilt.
        File.Delete(Path.Combine(ModelDir(ws), "tokenizer.json"));
        Assert.False(Status(ws, "Download").UpToDate);
        Run(ws, "Download");
        Assert.DoesNotContain("tokenizer.json", RecordedFiles(ws));
        Assert.False(Status(ws, "Extract").UpToDate);
    }

    /// <summary>
    /// tokenizer.json added beside a spiece.model wins over it (TokenizerLoader's order), so Download reruns and Extract,
    /// built with the spiece.model, must be rebuilt.
    /// </summary>
    [Fact]
    public void ATokenizerJsonAddedBesideASpieceModelRerunsDownloadAndExtract()
    {
        var ws = FlanT5(withTokenizer: false);
        File.Copy(Repo.Fixture("tokenizers/t5-unigram/spiece.model"), Path.Combine(ModelDir(ws), "spiece.model"));
        Run(ws, "Download");
        Run(ws, "Extract");
        var before = ExtractManifest(ws)["components"]![DownloadKey]!.GetValue<string>();

        AddTokenizer(ws);
        Assert.False(Status(ws, "Download").UpToDate);
        Run(ws, "Download");
        Assert.Equal(["config.json", "model.safetensors", "spiece.model", "tokenizer.json"], RecordedFiles(ws));
        var (upToDate, explained) = Status(ws, "Extract");
        Assert.False(upToDate, explained);
        Assert.Contains($"{DownloadKey} changed", explained);
        Run(ws, "Extract");
        Assert.NotEqual(before, ExtractManifest(ws)["components"]![DownloadKey]!.GetValue<string>());
    }

    /// <summary>
    /// New bytes in a recorded tokenizer.json rerun Download and then Extract, whose <c>in:Download</c> component
    /// changes — whether the tokenizer was there at the first run or added to the folder after it.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ATokenizersNewBytesRerunDownloadAndExtract(bool fromTheStart)
    {
        var ws = FlanT5(withTokenizer: fromTheStart);
        Run(ws, "Download");
        if (!fromTheStart)
        {
            AddTokenizer(ws);
            Run(ws, "Download");
        }
        Run(ws, "Extract");
        var before = ExtractManifest(ws)["components"]![DownloadKey]!.GetValue<string>();

        // Still a valid tokenizer.json (a trailing newline), other bytes.
        File.AppendAllText(Path.Combine(ModelDir(ws), "tokenizer.json"), "\n");
        var (upToDate, explained) = Status(ws, "Download");
        Assert.False(upToDate, explained);
        Run(ws, "Download");
        Assert.True(Status(ws, "Download").UpToDate);
        (upToDate, explained) = Status(ws, "Extract");
        Assert.False(upToDate, explained);
        Assert.Contains($"{DownloadKey} changed", explained);
        Run(ws, "Extract");
        Assert.NotEqual(before, ExtractManifest(ws)["components"]![DownloadKey]!.GetValue<string>());
        Assert.True(Status(ws, "Extract").UpToDate);
    }

    /// <summary>
    /// Only checkpoint files count: a README.md or a notes folder added beside them leaves Download up to date, while a
    /// tokenizer file (special_tokens_map.json) added makes it stale.
    /// </summary>
    [Fact]
    public void OnlyCheckpointFilesAddedToTheFolderMakeDownloadStale()
    {
        var ws = FlanT5(withTokenizer: true);
        Run(ws, "Download");
        Run(ws, "Extract");
        var before = ws.Snapshot();

        File.WriteAllText(Path.Combine(ModelDir(ws), "README.md"), "# flan-t5-tiny\n");
        Directory.CreateDirectory(Path.Combine(ModelDir(ws), "notes"));
        File.WriteAllText(Path.Combine(ModelDir(ws), "notes", "config.json"), "{}\n");
        var (upToDate, explained) = Status(ws, "Download");
        Assert.True(upToDate, explained);
        Run(ws, "Download");
        Run(ws, "Extract");
        Assert.Equal(before, ws.Snapshot());

        File.WriteAllText(Path.Combine(ModelDir(ws), "special_tokens_map.json"), "{}\n");
        (upToDate, explained) = Status(ws, "Download");
        Assert.False(upToDate, explained);
        Assert.Contains("experiments/t5/special_tokens_map.json", explained);
    }
}
