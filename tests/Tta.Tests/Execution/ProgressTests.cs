using Tta.Cache;
using Tta.Config;
using Tta.Metrics;
using Tta.Execution;

namespace Tta.Tests.Execution;

/// <summary>Progress of running units: what Extract reports (bytes loaded, layer i/N), and how it is shown.</summary>
public class ProgressTests
{
    private static (RunContext Context, StageUnit Unit) ExtractUnitOf(TinyWorkspace ws, TextWriter log)
    {
        var context = new RunContext(new Workspace(ws.Root, ws.CacheDir, ws.FiguresDir), [ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings)], log);
        return (context, UnitGraph.For(context).Find("Extract:tiny/tiny/one")!);
    }

    [Fact]
    public void ExtractReportsEveryByteLoadedAndEveryLayer()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        var (context, unit) = ExtractUnitOf(ws, new StringWriter());
        using (context)
        {
            var progress = new UnitProgress(unit);
            StageRunner.Run(unit, context.ForUnit(progress));
            Assert.Null(context.UnitProgress); // the run's own context reports to no unit

            // The checkpoint's tensor bytes (the file less its header) were all read, and counted once.
            var file = new FileInfo(Path.Combine(ws.Root, "experiments", "model", "model.safetensors")).Length;
            Assert.InRange(progress.BytesToLoad, file * 9 / 10, file);
            Assert.Equal(progress.BytesToLoad, progress.BytesLoaded);
            // bert-tiny has 2 layers: hidden states 0 (embeddings), 1 and 2.
            var layers = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(ws.Root, "experiments", "model", "config.json")))!["num_hidden_layers"]!.GetValue<int>();
            Assert.Equal(("layer", layers + 1, layers + 1), (progress.PhaseName, progress.StepsDone, progress.StepsTotal));
            Assert.StartsWith($"Extract tiny/tiny/one: layer {layers + 1}/{layers + 1}, ", progress.Describe());
        }
    }

    [Fact]
    public void DescribeShowsGigabytesRateAndTimeLeft()
    {
        var ws = new TinyWorkspace();
        var (context, unit) = ExtractUnitOf(ws, new StringWriter());
        using (context)
        {
            var progress = new UnitProgress(unit);
            progress.LoadingBytes(4_000_000_000);
            Thread.Sleep(300);
            progress.Loaded(1_000_000_000);
            Assert.Matches(@"^Extract tiny/tiny/one: loading 1\.00/4\.00 GB \(\d+\.\d\d GB/s\), about \d+ s left, \d+\.\d s$", progress.Describe());
            progress.Phase("layer", 24);
            Parallel.For(0, 6, _ => progress.StepDone()); // figures report from several threads
            Assert.Matches(@"^Extract tiny/tiny/one: layer 6/24, about \d+ s left, \d+\.\d s$", progress.Describe());
        }
    }

    [Fact]
    [Trait("Lane", "Full")]
    public void PlainLinesAppearInLogsWhileAUnitRuns()
    {
        var ws = new TinyWorkspace();
        Assert.Equal(0, ws.Cli("run", "--stage=Download").Code);
        // Output to a pipe is a log: plain "progress:" lines every TTA_PROGRESS_SECONDS, no escape sequences.
        var (code, output) = TtaProcess.RunCli(ws, "run", ["--stage=Extract"],
            new Dictionary<string, string> { ["TTA_PROGRESS_SECONDS"] = "0.02" });
        Assert.True(code == 0, output);
        Assert.Matches(@"(?m)^progress: Extract tiny/tiny/(one|two): \w", output);
        Assert.DoesNotContain("\u001b[", output);
    }

    [Fact]
    public void TheLiveBlockStaysUnderTheLogAndIsGoneAtTheEnd()
    {
        var ws = new TinyWorkspace();
        var terminal = new StringWriter();
        var (context, unit) = ExtractUnitOf(ws, new StringWriter());
        using (context)
        {
            var display = new ProgressDisplay(terminal, live: true, TimeSpan.FromHours(1));
            var progress = new UnitProgress(unit);
            display.Started(progress);
            display.Log.WriteLine("first line");
            Assert.Equal(["first line", "  Extract tiny/tiny/one: starting, "], Screen(terminal.ToString()).Select(Trim));
            progress.Phase("layer", 3);
            progress.StepDone();
            display.Log.Write("second ");
            display.Log.WriteLine("line");
            Assert.Equal(["first line", "second line", "  Extract tiny/tiny/one: layer 1/3, "], Screen(terminal.ToString()).Select(Trim));
            display.Finished(progress);
            display.Log.WriteLine("third line");
            display.Dispose();
            Assert.Equal(["first line", "second line", "third line"], Screen(terminal.ToString()));
        }
    }

    /// <summary>The lines a terminal shows after <paramref name="output"/>: "cursor up" + "erase line" removes the last one.</summary>
    private static List<string> Screen(string output)
    {
        const string up = "\u001b[1A\u001b[2K";
        var lines = new List<string>();
        var rest = output;
        while (rest.Length > 0)
        {
            if (rest.StartsWith(up, StringComparison.Ordinal))
            {
                lines.RemoveAt(lines.Count - 1);
                rest = rest[up.Length..];
                continue;
            }
            var end = rest.IndexOf('\n', StringComparison.Ordinal);
            Assert.True(end >= 0, $"unterminated output: {rest}");
            lines.Add(rest[..end].TrimEnd('\r'));
            rest = rest[(end + 1)..];
        }
        return lines;
    }

    // Times vary; compare without them.
    private static string Trim(string line) => System.Text.RegularExpressions.Regex.Replace(line, @"(, about \d+ s left)?, \d+\.\d s$", ", ");
}
