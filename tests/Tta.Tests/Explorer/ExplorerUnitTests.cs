using System.Text.RegularExpressions;
using Tta.Explorer;
using Tta.Pipeline;

using Tta.Tests.Archive;

namespace Tta.Tests.Explorer;

/// <summary>The explorer as a stage unit: rebuilt when, and only when, something it shows changed.</summary>
public class ExplorerUnitTests
{
    private static readonly string[] Stages = ["Download", "Extract", "Metrics", "Figures"];

    private static void RunAll(TinyWorkspace ws)
    {
        foreach (var stage in Stages)
        {
            var (code, output) = ws.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
    }

    private static string Explain(TinyWorkspace ws, string stage)
    {
        var (code, output) = ws.Cli("status", $"--stage={stage}", "--explain");
        Assert.True(code is 0 or 3, output);
        return output;
    }

    private static long Stamp(string path) => File.GetLastWriteTimeUtc(path).Ticks;

    [Fact]
    public void ExplorerIsRebuiltWhenAndOnlyWhenItsInputsChange()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("figures:", "metrics:\n  projection: true\nfigures:"));
        RunAll(ws);
        var page = Path.Combine(ws.FiguresDir, "tiny", "index.html");
        Assert.True(File.Exists(page));
        Assert.Contains("tiny/explorer: up to date", Explain(ws, "Figures"));
        var built = Stamp(page);

        // Metrics recomputed to the same bytes: nothing the page shows changed, so it stays.
        Assert.Equal(0, ws.Cli("run", "--stage=Metrics", "--force-stage=Metrics").Code);
        Assert.Contains("tiny/explorer: up to date", Explain(ws, "Figures"));
        RunAll(ws);
        Assert.Equal(built, Stamp(page));

        // A comment in the experiment file: only the explorer (which shows the file) is stale.
        ws.WriteExperiment("# a note\n" + File.ReadAllText(ws.ExperimentPath));
        foreach (var stage in new[] { "Download", "Extract", "Metrics" })
            Assert.DoesNotContain("stale", Explain(ws, stage));
        var figures = Explain(ws, "Figures");
        Assert.Contains("tiny/tiny/one: up to date", figures);
        Assert.Contains("tiny/explorer: stale — param:experiment_file changed", figures);
        RunAll(ws);
        Assert.NotEqual(built, Stamp(page));
        Assert.Contains("# a note", File.ReadAllText(page));
        built = Stamp(page);

        // A thumbnail deleted: the figure unit's output is missing; rebuilt to the same bytes, the page stays.
        var thumb = Directory.GetFiles(Path.Combine(ws.FiguresDir, "tiny", "tiny", "one", Tta.Figures.Thumbnails.Folder), "*.png")[0];
        var thumbBytes = File.ReadAllBytes(thumb);
        File.Delete(thumb);
        Assert.Contains("is missing", Explain(ws, "Figures"));
        RunAll(ws);
        Assert.Equal(thumbBytes, File.ReadAllBytes(thumb));
        Assert.Equal(built, Stamp(page));

        // A figure option: the figures change, and with them the page.
        ws.WriteExperiment(File.ReadAllText(ws.ExperimentPath).Replace("cell_pixels: 8", "cell_pixels: 9"));
        var (code, rerun) = ws.Cli("run", "--stage=Figures", "--explain");
        Assert.True(code == 0, rerun);
        Assert.Contains("tiny/explorer: stale", rerun);
        Assert.Contains("in:Figures:tiny/tiny/one changed", rerun);
        Assert.NotEqual(built, Stamp(page));
        Assert.Contains("tiny/explorer: up to date", Explain(ws, "Figures"));
    }

    [Fact]
    public void EachFigureUnitMakesTheThumbnailsOfItsPngsAndThePageLinksThem()
    {
        var ws = new TinyWorkspace();
        RunAll(ws);
        var dir = Path.Combine(ws.FiguresDir, "tiny", "tiny", "one");
        var manifest = Tta.Cache.UnitManifest.TryRead(Path.Combine(ws.CacheDir, "figures", "tiny", "tiny", "one", "manifest.json"))!;
        var outputs = manifest.Outputs.Select(o => Path.GetFullPath(o.Path, ws.Root)).ToList();
        var pngs = outputs.Where(o => o.EndsWith(".png", StringComparison.Ordinal) && !Tta.Figures.Thumbnails.IsThumbnail(o)).ToList();
        var thumbs = outputs.Where(Tta.Figures.Thumbnails.IsThumbnail).ToList();
        Assert.NotEmpty(pngs);
        // One declared thumbnail per PNG of the unit, beside its files: what the PNG shows, at most 320 px.
        Assert.Equal(pngs.Select(p => Path.Combine(dir, Tta.Figures.Thumbnails.Folder, Path.GetFileName(p))).Order(StringComparer.Ordinal),
            thumbs.Order(StringComparer.Ordinal));
        foreach (var png in pngs)
        {
            using var figure = SkiaSharp.SKBitmap.Decode(png);
            using var thumb = SkiaSharp.SKBitmap.Decode(Tta.Figures.Thumbnails.PathFor(png));
            Assert.Equal(Math.Min(Tta.Figures.Thumbnails.MaxSide, Math.Max(figure.Width, figure.Height)), Math.Max(thumb.Width, thumb.Height));
            Assert.Equal((double)figure.Width / figure.Height, (double)thumb.Width / thumb.Height, 0.02);
            using var expected = figure.Resize(new SkiaSharp.SKImageInfo(thumb.Width, thumb.Height), new SkiaSharp.SKSamplingOptions(SkiaSharp.SKCubicResampler.Mitchell));
            var differing = Enumerable.Range(0, thumb.Width * thumb.Height).Count(i => !Close(expected.GetPixel(i % thumb.Width, i / thumb.Width), thumb.GetPixel(i % thumb.Width, i / thumb.Width)));
            Assert.True(differing == 0, $"{png}: {differing} thumbnail pixels differ from the resized PNG");
        }

        // The page's gallery links each figure's thumbnail with its size; the explorer wrote none of its own.
        var page = File.ReadAllText(Path.Combine(ws.FiguresDir, "tiny", "index.html"));
        var data = System.Text.Json.JsonDocument.Parse(Regex.Match(page, """<script type="application/json" id="tta-data">(.*?)</script>""", RegexOptions.Singleline).Groups[1].Value);
        var set = data.RootElement.GetProperty("sets").EnumerateArray().Single(e => e.GetProperty("text").GetString() == "one");
        var linked = set.GetProperty("figures").EnumerateArray().ToList();
        Assert.Equal(pngs.Count, linked.Count);
        foreach (var entry in linked)
        {
            var thumb = Path.GetFullPath(Uri.UnescapeDataString(entry.GetProperty("thumb").GetString()!), Path.Combine(ws.FiguresDir, "tiny"));
            Assert.Contains(thumb, thumbs);
            var size = Tta.Figures.Thumbnails.PngSize(thumb)!.Value;
            Assert.Equal((size.Width, size.Height), (entry.GetProperty("thumbWidth").GetInt32(), entry.GetProperty("thumbHeight").GetInt32()));
        }
        Assert.False(Directory.Exists(Path.Combine(ws.FiguresDir, "tiny", Tta.Figures.Thumbnails.Folder)));
    }

    /// <summary>Equal within one level per channel (the PNG file and the raster it was encoded from are the same pixels).</summary>
    private static bool Close(SkiaSharp.SKColor a, SkiaSharp.SKColor b) =>
        Math.Abs(a.Red - b.Red) <= 1 && Math.Abs(a.Green - b.Green) <= 1 && Math.Abs(a.Blue - b.Blue) <= 1;

    [Fact]
    public void ThumbnailsAnOlderExplorerMadeInThePageFolderGoAway()
    {
        var ws = new TinyWorkspace();
        RunAll(ws);
        var legacy = Path.Combine(ws.FiguresDir, "tiny", Tta.Figures.Thumbnails.Folder, "tiny", "one");
        Directory.CreateDirectory(legacy);
        File.WriteAllBytes(Path.Combine(legacy, "encoder-L00-hidden_states.0-cosine.png"), [1, 2, 3]);
        var (code, output) = ws.Cli("run", "--stage=Figures", "--force-stage=Figures");
        Assert.True(code == 0, output);
        Assert.False(Directory.Exists(Path.Combine(ws.FiguresDir, "tiny", Tta.Figures.Thumbnails.Folder)));
    }

    [Fact]
    public void ArchiveHoldsTheExplorerAndVerifyRebuildsItFromTheArchivedData()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("figures:", "metrics:\n  projection: true\nfigures:"));
        RunAll(ws);
        var outDir = Repo.TempDir();
        var (code, text) = ws.Cli("archive", $"--out={outDir}");
        Assert.True(code == 0, text);
        var zipPath = Assert.Single(Directory.GetFiles(outDir, "*.zip"));
        var members = ArchivedTinyExperiment.Members(zipPath);
        Assert.Equal(File.ReadAllBytes(Path.Combine(ws.FiguresDir, "tiny", "index.html")), members["figures/tiny/index.html"]);
        Assert.Contains("cache/figures/tiny/explorer.manifest.json", members.Keys);
        var thumbs = Directory.GetFiles(ws.FiguresDir, "*.png", SearchOption.AllDirectories).Where(Tta.Figures.Thumbnails.IsThumbnail).ToList();
        Assert.NotEmpty(thumbs);
        Assert.All(thumbs, t => Assert.Contains("figures/" + Path.GetRelativePath(ws.FiguresDir, t), members.Keys));

        (code, text) = ws.Cli("verify", $"--archive={zipPath}");
        Assert.True(code == 0, text);
        Assert.Contains("rebuilt the explorer (1 file(s))", text);

        // A page whose maps were swapped, with checksums made to match: only the rebuild can tell.
        var page = System.Text.Encoding.UTF8.GetString(members["figures/tiny/index.html"]);
        var m0 = Regex.Match(page, "<script type=\"application/octet-stream\" id=\"m0\">([^<]*)</script>").Groups[1].Value;
        var m1 = Regex.Match(page, "<script type=\"application/octet-stream\" id=\"m2\">([^<]*)</script>").Groups[1].Value; // hidden_states.1 (m1 is hidden_states.0 dot: the same codes as its cosine)
        var swapped = System.Text.Encoding.UTF8.GetBytes(page.Replace(">" + m0 + "<", ">@@<").Replace(">" + m1 + "<", ">" + m0 + "<").Replace(">@@<", ">" + m1 + "<"));
        var damaged = WithMember(zipPath, "figures/tiny/index.html", swapped);
        Assert.NotEqual(m0, m1);
        (code, text) = ws.Cli("verify", $"--archive={damaged}");
        Assert.True(code != 0, text);
        var failure = Assert.Single(text.Split('\n'), l => l.StartsWith("FAILED ", StringComparison.Ordinal));
        Assert.StartsWith("FAILED figures/tiny/index.html: differs from the explorer rebuilt", failure);
    }

    /// <summary>A copy of an archive with one member replaced and its SHA-256 updated in SHA256SUMS and the crate.</summary>
    private static string WithMember(string zipPath, string member, byte[] bytes)
    {
        static string Sha(byte[] b) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(b));
        var members = ArchivedTinyExperiment.Members(zipPath);
        var (oldSha, newSha) = (Sha(members[member]), Sha(bytes));
        var crate = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(members["ro-crate-metadata.json"]).Replace(oldSha, newSha, StringComparison.Ordinal)
            .Replace($"\"contentSize\": \"{members[member].Length}\"", $"\"contentSize\": \"{bytes.Length}\"", StringComparison.Ordinal));
        var sums = System.Text.Encoding.UTF8.GetString(members["SHA256SUMS"]).Replace(oldSha, newSha, StringComparison.Ordinal)
            .Replace(Sha(members["ro-crate-metadata.json"]), Sha(crate), StringComparison.Ordinal);
        var path = Path.Combine(Repo.TempDir(), Path.GetFileName(zipPath));
        using var target = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create);
        foreach (var (name, content) in members)
        {
            using var w = target.CreateEntry(name).Open();
            w.Write(name == member ? bytes : name == "ro-crate-metadata.json" ? crate : name == "SHA256SUMS" ? System.Text.Encoding.UTF8.GetBytes(sums) : content);
        }
        return path;
    }

}
