// tta task graph. Logic lives in src/ (the tta-cli verbs); this file only wires stages together.
// Stage tasks carry the skip decision as a criteria (from the run journal, see below), so Cake's summary shows
// Skipped/Executed truthfully; the user-facing targets (Download, Extract, Metrics, Figures) are thin aggregates.
// The run lock (src/Tta/Cache/RunLock.cs) is taken here once and held for the whole run; the tta-cli processes of
// the stages learn it from the TTA_RUN_LOCK environment variable. build.sh builds Tta.dll and Tta.Build.dll (the
// option table, the command-line check and the run journal) before Cake starts.
#r "../src/Tta.Cli/bin/Release/net10.0/Tta.dll"
#r "../src/Tta.Cli/bin/Release/net10.0/Tta.Build.dll"

var target = Argument("target", "Figures");
var configuration = Argument("configuration", "Release");
// Cake runs from build/; the project root is its parent (build.sh exports it as TTA_ROOT).
var root = EnvironmentVariable("TTA_ROOT") ?? MakeAbsolute(Directory("..")).FullPath;
var cli = System.IO.Path.Combine(root, $"src/Tta.Cli/bin/{configuration}/net10.0/tta-cli.dll");

// Every option as given (name, value; value null for a bare --name).
var given = Context.Arguments.GetArguments().SelectMany(a => a.Value.DefaultIfEmpty(null).Select(v => (a.Key, v))).ToList();

// Options forwarded to every tta-cli call that reads experiments (the table marks them: src/Tta.Build/KnownOptions.cs).
IReadOnlyList<string> ForwardedArgs() => Tta.Build.BuildScript.ForwardedArgs(given);

// One command line for Cake's process alias: each value quoted.
string Forwarded() => string.Join(" ", ForwardedArgs().Select(a => a.IndexOf('=') is var eq && eq > 0 ? $"{a[..(eq + 1)]}\"{a[(eq + 1)..]}\"" : a));

// --verify re-hashes every recorded output once, when each stage's status is decided (it marks what differs, so
// the run that follows rebuilds it without hashing again).
string Verify() => HasArgument("verify") ? " --verify" : "";

// build.sh starts Cake with tiered PGO off (it only lengthens short runs: Cake and the plan); the run that builds
// units gets the runtime's default back (BuildScript.StartRun).
int Cli(string arguments) =>
    StartProcess("dotnet", new ProcessSettings { Arguments = $"\"{cli}\" {arguments} --root=\"{root}\"", WorkingDirectory = root });

void CliOrFail(string arguments)
{
    var code = Cli(arguments);
    if (code != 0) throw new CakeException(code, $"tta-cli {arguments.Split(' ')[0]} failed (exit {code}); see the message above");
}

// Synth and Bench run tta-bench (src/Tta.Bench: benchmarks and synthetic checkpoints, apart from the library), built
// here when one of them runs: build.sh builds only the CLI. The build's output is shown only when it fails.
void BenchOrFail(string arguments)
{
    var bench = System.IO.Path.Combine(root, $"src/Tta.Bench/bin/{configuration}/net10.0/tta-bench.dll");
    if (!Tta.Build.BuildScript.IsNewerThanSources(root, bench))
    {
        using var build = StartAndReturnProcess("dotnet", new ProcessSettings
        {
            Arguments = $"build src/Tta.Bench/Tta.Bench.csproj -c {configuration} -p:TtaTorch={Argument("torch", "cpu")} -v:q -nologo",
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true,
        });
        build.WaitForExit();
        if (build.GetExitCode() != 0)
        {
            foreach (var line in build.GetStandardOutput().Concat(build.GetStandardError())) Error(line);
            throw new CakeException(build.GetExitCode(), "building tta-bench failed; see the message above");
        }
    }
    var code = StartProcess("dotnet", new ProcessSettings { Arguments = $"\"{bench}\" {arguments} --root=\"{root}\"", WorkingDirectory = root });
    if (code != 0) throw new CakeException(code, $"tta-bench {arguments.Split(' ')[0]} failed (exit {code}); see the message above");
}

// The whole command line is checked here, in this process, before anything runs: the target and every option
// (Cake itself ignores unknown ones), and for targets that run stages the experiments and option values, so a
// rejected run creates nothing (not even cache/ and its lock). The error is printed once, here.
if (Tta.Build.BuildScript.Problem(target, given, root) is { } problem)
{
    foreach (var line in problem.Split('\n')) Error($"error: {line}"); // a file with several problems: one error line each
    System.Environment.Exit(Tta.Build.BuildScript.BadInput);
}
var dryRun = HasArgument("dry-run");
var pipeline = Tta.Build.KnownTargets.Find(target).RunsStages;
// The last stage a target needs (Archive builds everything first).
var throughStage = pipeline && !string.Equals(target, "Archive", StringComparison.OrdinalIgnoreCase) ? Tta.Build.KnownTargets.Find(target).Name : "Figures";
// Setup's plan (which also checks the experiments) records which stages have stale units, and the run records which stages it ran: the stage tasks'
// criteria read this file instead of starting a process each.
var journal = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tta-run-{System.Environment.ProcessId}.json");
Tta.Build.RunJournal Journal() => Tta.Build.RunJournal.Read(journal);
// The one tta-cli run that builds every stale stage through the target (units of a stage start as soon as their
// inputs exist); started by the first stale stage's task.
System.Diagnostics.Process runner = null;
Tta.Cache.RunLock runLock = null;
// Ctrl-C reaches the run too: it says what it interrupted, and the stage task waiting for it then fails, so Cake
// lives on to print its summary and drop the lock after the run has ended.
System.Console.CancelKeyPress += (sender, e) => { if (runner != null && !runner.HasExited) e.Cancel = true; };


Setup(context =>
{
    var workspace = Tta.Cache.Workspace.At(root, HasArgument("cache") ? Argument<string>("cache") : null, HasArgument("figures") ? Argument<string>("figures") : null);
    var clean = string.Equals(target, "Clean", StringComparison.OrdinalIgnoreCase);
    if (pipeline && dryRun)
    {
        // Lists what would run and why; takes no lock (it would create cache/) and writes nothing in the project.
        CliOrFail($"plan --journal=\"{journal}\" --through={throughStage} {Forwarded()}");
        return;
    }
    if (pipeline || (clean && System.IO.Directory.Exists(workspace.CacheDir)))
    {
        // One lock spans the whole run: shared by runs (units lock themselves), exclusive for Clean, so Clean never
        // slips in between stages.
        runLock = Tta.Cache.RunLock.Acquire(workspace.CacheDir, clean ? Tta.Core.LockMode.Exclusive : Tta.Core.LockMode.Shared, null, Console.Out);
        System.Environment.SetEnvironmentVariable(Tta.Cache.RunLock.HeldVariable, runLock.EnvironmentValue);
    }
    if (pipeline) CliOrFail($"plan --journal=\"{journal}\" --through={throughStage} {Forwarded()}{Verify()}");
});

Teardown(context =>
{
    runner?.WaitForExit(); // the run ends (after a failure elsewhere too) before its lock is dropped
    runLock?.Dispose();
    if (System.IO.File.Exists(journal)) System.IO.File.Delete(journal);
});

// A stage task runs when its stage had stale units at the plan, or when the run started before it (its units are
// checked again once their inputs are rebuilt). The first stale stage's task starts the one process that builds
// every stage through the target (a unit starts as soon as what it reads is built; with --executor=slurm, one job
// array per stage chained with afterok); each stage task then waits until the journal records its stage finished
// or failed, so Cake's summary books each stage its own time, and a failure to the stage that failed.
void StageTask(string task, string stage, string dependsOn)
{
    var t = Task(task).WithCriteria(() => !dryRun && (runner != null || Journal().IsStale(stage)), dryRun ? "dry run" : $"{stage} is up to date");
    if (dependsOn != null) t.IsDependentOn(dependsOn);
    t.Does(() =>
    {
        runner ??= Tta.Build.BuildScript.StartRun(cli, new[] { "run", $"--stage={stage}", $"--through={throughStage}", $"--journal={journal}" }.Concat(ForwardedArgs()), root);
        var outcome = Tta.Build.BuildScript.WaitFor(journal, stage, runner);
        if (!outcome.Ok) throw new CakeException(outcome.ExitCode, outcome.Message);
        Information(outcome.Message);
    });
}

StageTask("Download-Weights", "Download", null);
StageTask("Extract-Activations", "Extract", "Download-Weights");
StageTask("Compute-Metrics", "Metrics", "Extract-Activations");
StageTask("Render-Figures", "Figures", "Compute-Metrics");

Task("Download").IsDependentOn("Download-Weights");
Task("Extract").IsDependentOn("Extract-Activations");
Task("Metrics").IsDependentOn("Compute-Metrics");
Task("Figures").IsDependentOn("Render-Figures");

Task("Test")
    .Description(Tta.Build.KnownTargets.Describe("Test"))
    .Does(() =>
    {
        // --lane=fast leaves out the tests marked [Trait("Lane", "Full")]: processes, browsers, Slurm, node (tests/README.md).
        var lane = Argument("lane", "full");
        if (lane is not ("fast" or "full")) throw new CakeException(2, $"--lane must be fast or full, not '{lane}'");
        var filter = lane == "fast" ? " --filter \"Lane!=Full\"" : "";
        var results = System.IO.Path.Combine(root, "tests/Tta.Tests/TestResults");
        var trx = System.IO.Path.Combine(results, "tta.trx");
        if (System.IO.File.Exists(trx)) System.IO.File.Delete(trx);
        var code = StartProcess("dotnet", new ProcessSettings
        {
            Arguments = $"test tests/Tta.Tests/Tta.Tests.csproj -c {configuration} --logger \"console;verbosity=normal\" --logger \"trx;LogFileName={trx}\"{filter}",
            WorkingDirectory = root,
        });
        // One plain closing line that any CI can read.
        if (System.IO.File.Exists(trx))
        {
            var counters = System.Xml.Linq.XDocument.Load(trx).Descendants().First(e => e.Name.LocalName == "Counters");
            string Count(string name) => counters.Attribute(name)?.Value ?? "0";
            var skipped = int.Parse(Count("notExecuted"));
            System.Console.WriteLine($"tests: {Count("passed")} passed, {Count("failed")} failed, {skipped} skipped");
        }
        if (code != 0) throw new CakeException(code, "tests failed");
    });

Task("Forward")
    .Description(Tta.Build.KnownTargets.Describe("Forward"))
    .Does(() => CliOrFail($"forward --model=\"{Argument<string>("model")}\" --inputs=\"{Argument<string>("inputs")}\" --out=\"{Argument<string>("out")}\"" +
        (HasArgument("masking") ? $" --masking={Argument<string>("masking")}" : "")));

Task("Synth")
    .Description(Tta.Build.KnownTargets.Describe("Synth"))
    .Does(() =>
    {
        var extra = "";
        foreach (var key in new[] { "dtype", "layers", "shards", "weights" })
            if (HasArgument(key)) extra += $" --{key}={Argument<string>(key)}";
        BenchOrFail($"synth --shape={Argument<string>("shape")} --out=\"{Argument<string>("out")}\"{extra}");
    });

Task("Archive")
    .Description(Tta.Build.KnownTargets.Describe("Archive"))
    .IsDependentOn("Render-Figures")
    .Does(() => CliOrFail($"archive {Forwarded()}" + (HasArgument("out") ? $" --out=\"{Argument<string>("out")}\"" : "")));

Task("Verify")
    .Description(Tta.Build.KnownTargets.Describe("Verify"))
    .Does(() => CliOrFail($"verify --archive=\"{Argument<string>("archive")}\""));

Task("Bench")
    .Description(Tta.Build.KnownTargets.Describe("Bench"))
    .Does(() =>
    {
        var options = "";
        foreach (var key in new[] { "only", "tokens", "falcon-layers", "load-layers", "load-bytes", "study-sizes", "repeats", "work", "texts", "batch" })
            if (HasArgument(key)) options += $" --{key}={Argument<string>(key)}";
        BenchOrFail($"bench{options}");
    });

Task("Clean")
    .Description(Tta.Build.KnownTargets.Describe("Clean"))
    .Does(() => CliOrFail($"clean {Forwarded()}" + (HasArgument("orphans") ? " --orphans" : "")));

RunTarget(target);
