using System.CommandLine;
using Tta.Build;

namespace Tta.Tests.Cli;

/// <summary>
/// tta-cli's command line, made by System.CommandLine from its verb classes: each verb's help, did-you-mean for a
/// mistyped option, values checked by the parser (exit 2 before anything runs), and every option Cake passes on
/// accepted by the verbs that receive it.
/// </summary>
public class CliParserTests
{
    private static (int Code, string Output) Cli(params string[] args)
    {
        var output = new StringWriter();
        var code = TtaCli.Run(args, output, output);
        return (code, output.ToString());
    }

    [Fact]
    public void EveryVerbHasHelpListingItsOptions()
    {
        var root = TtaCli.Command();
        Assert.Equal(TtaCli.Verbs, root.Subcommands.Select(c => c.Name));
        foreach (var verb in root.Subcommands)
        {
            var (code, help) = Cli(verb.Name, "--help");
            Assert.True(code == 0, help);
            Assert.Contains($"tta-cli {verb.Name}", help);
            Assert.Contains(verb.Description!, help);
            foreach (var option in verb.Options) Assert.Contains(option.Name, help);
            Assert.Equal(help, Cli("help", verb.Name).Output); // help VERB says the same
        }
        var (_, runHelp) = Cli("run", "--help");
        Assert.Contains("--jobs <N>", runHelp);
        Assert.Contains("--stage <STAGE>", runHelp);
        Assert.DoesNotContain("--orphans", runHelp); // clean's, not run's
        Assert.Equal(BuildHelp.Text(), Cli("help", "build").Output);
    }

    [Theory]
    [InlineData("status", "--explian", "unknown option --explian — did you mean --explain?")]
    [InlineData("clean", "--orphan", "unknown option --orphan — did you mean --orphans?")]
    [InlineData("forward", "--maskin=reference", "unknown option --maskin — did you mean --masking?")]
    [InlineData("clean", "--jobs=2", "unknown option --jobs")] // run's, not clean's
    public void AMistypedOptionIsRefusedWithTheClosestOneOfItsVerb(string verb, string option, string message)
    {
        var root = Path.Combine(Path.GetTempPath(), $"tta-cli-{Guid.NewGuid():N}");
        var (code, output) = Cli(verb, $"--root={root}", option);
        Assert.Equal(TtaCli.BadInput, code);
        Assert.Contains($"error: {message}", output);
        Assert.False(Directory.Exists(root), "nothing ran");
    }

    [Theory]
    [InlineData("--jobs=0", "--jobs=0: write a whole number of threads, 1 or more")]
    [InlineData("--jobs=x", "--jobs=x: write a whole number of threads, 1 or more")]
    [InlineData("--memory-limit=lots", "--memory-limit=lots: write a size such as 16G or 512M")]
    [InlineData("--poll-seconds=61", "--poll-seconds=61: write the seconds between squeue polls")]
    [InlineData("--stage=Extrct", "--stage=Extrct: no such stage — did you mean Extract?")]
    [InlineData("--force-stage=Metrcs", "--force-stage=Metrcs: no such stage — did you mean Metrics?")]
    [InlineData("--explain=yes", "option --explain is a switch and takes no value (got 'yes')")]
    [InlineData("--experiment", "option --experiment needs a value: --experiment=…")]
    public void ABadValueIsRefusedByTheParser(string option, string message)
    {
        string[] args = ["status", "--stage=Download", "--root=/nonexistent/tta", option];
        var errors = TtaCli.Command().Parse(args).Errors;
        Assert.NotEmpty(errors); // the parser's own check, before any verb runs
        var (code, output) = Cli(args);
        Assert.Equal(TtaCli.BadInput, code);
        Assert.Contains($"error: {message}", output);
    }

    [Fact]
    public void ValuesGivenTwiceKeepTheLastAndListsAccumulate()
    {
        var root = TtaCli.Command();
        var run = root.Subcommands.Single(c => c.Name == "run");
        var result = root.Parse(["run", "--stage=Download", "--stage", "extract", "--experiment=a.yaml,b.yaml", "--experiment=c.yaml", "--jobs=2", "--jobs=3", "--force=false"]);
        Assert.Empty(result.Errors);
        T Value<T>(string name) => result.GetValue((Option<T>)run.Options.Single(o => o.Name == name))!;
        Assert.Equal("Extract", Value<string?>("--stage")); // canonical
        Assert.Equal(["a.yaml", "b.yaml", "c.yaml"], Value<string[]>("--experiment"));
        Assert.Equal(3, Value<int?>("--jobs"));
        Assert.False(Value<bool>("--force"));
    }

    [Theory]
    [InlineData("run --stage ", "Download,Extract,Metrics,Figures")]
    [InlineData("status --force-stage ", "Download,Extract,Metrics,Figures")]
    [InlineData("run --executor ", "local,slurm")]
    [InlineData("forward --masking ", "correct,reference")]
    [InlineData("help ", "run,build")]
    public void ValuesAreCompletedFromTheirOptions(string commandLine, string expected)
    {
        var completions = TtaCli.Command().Parse(commandLine).GetCompletions(commandLine.Length).Select(c => c.Label).ToList();
        foreach (var value in expected.Split(',')) Assert.Contains(value, completions);
    }

    [Fact]
    public void ForwardedArgsAreTheTablesForwardedOptions()
    {
        (string, string?)[] given = [("Experiment", "a.yaml"), ("experiment", "b.yaml"), ("jobs", "2"), ("jobs", "3"), ("force", null), ("verify", null), ("target", "Figures"), ("model", "m")];
        Assert.Equal(["--experiment=a.yaml", "--experiment=b.yaml", "--force", "--jobs=3"], BuildScript.ForwardedArgs(given));
    }

    /// <summary>A valid value of every option Cake forwards (a new forwarded option needs one here).</summary>
    private static string? Sample(TinyWorkspace ws, string option) => option switch
    {
        "experiment" => ws.ExperimentPath,
        "force-stage" => "Extract",
        "cache" => ws.CacheDir,
        "figures" => ws.FiguresDir,
        "memory-limit" => "16G",
        "executor" => "local",
        "partition" or "account" => "main",
        "time" => "2:00:00",
        "jobs" => "2",
        "poll-seconds" => "5",
        "group-size" => "5",
        "force" or "explain" or "dry-run" => null,
        _ => throw new ArgumentException($"no sample value for --{option}: add one"),
    };

    [Fact]
    public void EveryOptionCakeForwardsIsAcceptedByTheVerbsThatReceiveIt()
    {
        // The verbs build.cake calls with the forwarded options, by target: plan and run for the targets that run
        // stages (Archive too, then archive), clean for Clean.
        var cake = File.ReadAllText(Path.Combine(Repo.Root, "build", "build.cake"));
        foreach (var call in new[] { "plan --journal=", "{ \"run\", ", "archive {Forwarded()}", "clean {Forwarded()}" }) Assert.Contains(call, cake);
        string[] Verbs(KnownTarget t) => t.Name switch
        {
            "Archive" => ["plan", "run", "archive"],
            "Clean" => ["clean"],
            _ => t.RunsStages ? ["plan", "run"] : [],
        };
        string[] Required(string verb) => verb switch
        {
            "plan" => ["--journal=/tmp/journal.json", "--through=Figures"],
            "run" => ["--stage=Download", "--through=Figures", "--journal=/tmp/journal.json"],
            _ => [],
        };
        var ws = new TinyWorkspace();
        var forwarded = KnownOptions.All.Where(o => o.Forwarded).ToList();
        Assert.Contains(forwarded, o => o.Name == "jobs");
        var checkedPairs = 0;
        foreach (var target in KnownTargets.All)
            foreach (var option in forwarded)
            {
                (string, string?)[] given = [("experiment", ws.ExperimentPath), (option.Name, Sample(ws, option.Name))];
                if (BuildScript.Problem(target.Name, given, ws.Root) is not null) continue; // Cake refuses it for this target
                foreach (var verb in Verbs(target))
                {
                    string[] args = [verb, .. Required(verb), .. BuildScript.ForwardedArgs(given), $"--root={ws.Root}"];
                    var errors = TtaCli.Command().Parse(args).Errors;
                    Assert.True(errors.Count == 0, $"./build.sh --target={target.Name} --{option.Name} → tta-cli {string.Join(' ', args)}: {string.Join("; ", errors.Select(e => e.Message))}");
                    checkedPairs++;
                }
            }
        Assert.True(checkedPairs > 50, $"{checkedPairs}");
        // The check can fail: an option Cake refuses for Clean is one clean does not take either.
        Assert.NotNull(BuildScript.Problem("Clean", [("jobs", "2")], ws.Root));
        Assert.NotEmpty(TtaCli.Command().Parse(["clean", "--jobs=2"]).Errors);
    }

    [Fact]
    public void TheTestLaneIsCheckedWithTheOtherOptionValues()
    {
        var root = Repo.TempDir();
        Assert.Equal("--lane must be fast or full, not 'bogus'", BuildScript.Problem("Test", [("lane", "bogus")], root));
        Assert.Null(BuildScript.Problem("Test", [("lane", "fast")], root));
        Assert.Null(BuildScript.Problem("Test", [("lane", "full")], root));
        Assert.NotNull(BuildScript.Problem("Figures", [("lane", "fast")], root)); // Test's option only
    }
}
