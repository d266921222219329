using System.Diagnostics;
using System.Text.Json.Nodes;
using Tta.Config;
using Tta.Models;

namespace Tta.Tests.Config;

/// <summary>
/// Reliability of messages: bad input names the file, the line and the key, stops before anything is written, and
/// unknown options are errors naming the closest known option, in tta-cli and in ./build.sh.
/// </summary>
public class InputErrorTests
{
    [Theory]
    [InlineData("--experment=x.yaml", "unknown option --experment — did you mean --experiment?")]
    [InlineData("--froce", "unknown option --froce — did you mean --force?")]
    [InlineData("--verfiy", "unknown option --verfiy — did you mean --verify?")]
    [InlineData("--experiment", "option --experiment needs a value")]
    [InlineData("--explain=yes", "option --explain is a switch")]
    public void UnknownOrMalformedOptionsAreErrors(string option, string message)
    {
        var ws = new TinyWorkspace();
        var output = new StringWriter();
        var code = TtaCli.Run(["run", "--stage=Download", $"--root={ws.Root}", option], output, output);
        Assert.Equal(2, code);
        Assert.Contains(message, output.ToString());
        Assert.False(Directory.Exists(ws.CacheDir), "nothing ran");
    }

    [Theory]
    [InlineData("--jobs=0", "--jobs=0: write a whole number of threads, 1 or more")]
    [InlineData("--memory-limit=lots", "--memory-limit=lots: write a size such as 16G or 512M")]
    [InlineData("--executor=kubernetes", "--executor=kubernetes: use one of local, slurm")]
    [InlineData("--executor=slurm --time=soon", "--time: time limit 'soon' is not one of Slurm's formats")]
    [InlineData("--executor=slurm --poll-seconds=-1", "--poll-seconds=-1: write the seconds between squeue polls")]
    public void BadScaleOutValuesStopTheRunBeforeAnyUnit(string options, string message)
    {
        var ws = new TinyWorkspace();
        var (code, output) = ws.Cli("run", ["--stage=Download", "--through=Figures", .. options.Split(' ')]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, output);
        Assert.False(Directory.Exists(ws.CacheDir) && Directory.EnumerateFiles(ws.CacheDir, "manifest.json", SearchOption.AllDirectories).Any(), "a unit ran");
        Assert.False(Directory.Exists(ws.FiguresDir), "a unit ran");
    }

    [Fact]
    public void AnUnknownVerbSuggestsTheClosestOne()
    {
        var output = new StringWriter();
        Assert.Equal(2, TtaCli.Run(["rnu", "--stage=Download"], output, output));
        Assert.Contains("unknown verb 'rnu' — did you mean 'run'?", output.ToString());
    }

    private static (int Code, string Output) BuildSh(params string[] args) =>
        TtaProcess.Run(TtaProcess.Command(Path.Combine(Repo.Root, "build.sh"), args), TimeSpan.FromMinutes(8));

    [Fact]
    [Trait("Lane", "Full")]
    public void BuildShRefusesAnUnknownOptionAndOneLockSpansItsWholeRun()
    {
        var ws = new TinyWorkspace();
        var (code, output) = BuildSh($"--experment={ws.ExperimentPath}", $"--cache={ws.CacheDir}", $"--figures={ws.FiguresDir}");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown option --experment — did you mean --experiment?", output);
        Assert.False(Directory.Exists(ws.CacheDir), "nothing ran");

        // A whole run: Cake takes the run lock once; the tta-cli that builds the stages works under it (it takes or
        // waits for none of its own, so nothing can slip in between stages).
        (code, output) = BuildSh($"--experiment={ws.ExperimentPath}", $"--cache={ws.CacheDir}", $"--figures={ws.FiguresDir}", "--explain");
        Assert.True(code == 0, output);
        var holders = output.Split('\n').Where(l => l.Contains(": working under the run lock of process ", StringComparison.Ordinal))
            .Select(l => l[(l.LastIndexOf(' ') + 1)..].Trim()).ToList();
        Assert.True(holders.Count == 1, output); // one process builds Download through Figures
        Assert.Single(holders.Distinct());
        Assert.DoesNotContain("waiting for another tta run", output);
        Assert.True(File.Exists(Path.Combine(ws.FiguresDir, "tiny", "index.html")), output);
    }

    private static void EditConfig(TinyWorkspace ws, string key, JsonNode value)
    {
        var path = Path.Combine(ws.Root, "experiments", "model", "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[key] = value;
        File.WriteAllText(path, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    [Theory]
    [InlineData("vocab_size", 4000000000L, "'vocab_size' is 4000000000, too large")]
    [InlineData("hidden_size", -64L, "'hidden_size' is -64, negative")]
    public void ABadCheckpointConfigNamesTheFileLineAndKey(string key, long value, string message)
    {
        var ws = new TinyWorkspace();
        EditConfig(ws, key, value);
        foreach (var verb in new[] { "validate", "run" })
        {
            var (code, output) = ws.Cli(verb, verb == "run" ? ["--stage=Download"] : []); // validate takes no stage
            Assert.True(code == 2, output);
            Assert.Matches(@"experiments/model/config\.json:\d+:\d+: ", output);
            Assert.Contains(message, output);
        }
        Assert.False(Directory.Exists(ws.CacheDir), "nothing ran");
    }

    [Fact]
    public void AComputeDTypeOtherThanFloat32OrTheDTypeStopsTheRunBeforeAnyStage()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("name: tiny\ntexts:", "name: tiny\n    dtype: bfloat16\n    compute_dtype: float16\ntexts:", StringComparison.Ordinal));
        var (code, output) = ws.Cli("run", "--stage=Extract");
        Assert.True(code == 2, output);
        Assert.Contains("tiny.yaml:8:20: compute_dtype 'float16' is neither float32 nor the model's dtype 'bfloat16' — use one of: auto, float32, bfloat16", output);
        Assert.False(Directory.Exists(ws.CacheDir), "no stage ran, no folder was made");
    }

    [Fact]
    public void APointPatternThatMatchesNothingStopsTheRunBeforeAnyStage()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("figures:", "extract:\n  points: [\"hidden_states.*\", \"hidden_state.*\"]\nfigures:", StringComparison.Ordinal));
        foreach (var verb in new[] { "validate", "run" })
        {
            var (code, output) = ws.Cli(verb, verb == "run" ? ["--stage=Download"] : []); // validate takes no stage
            Assert.True(code == 2, output);
            Assert.Contains("tiny.yaml:13:31: extract.points: 'hidden_state.*' matches no capture point of model 'tiny'", output);
        }
        Assert.False(Directory.Exists(ws.CacheDir), "no stage ran, no folder was made");

        // Module paths, tuple items and parameter-free modules of the checkpoint are known without loading it.
        ws.WriteExperiment(TinyWorkspace.DefaultYaml.Replace("figures:",
            "extract:\n  points: [\"encoder.layer.*.attention.self.probs\", \"*.intermediate_act_fn\", \"embeddings\", \"*.attention#1\"]\nfigures:", StringComparison.Ordinal));
        var (ok, printed) = ws.Cli("validate");
        Assert.True(ok == 0, printed);
    }
}
