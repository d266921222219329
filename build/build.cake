// tta task graph. Logic lives in src/ (the tta-cli verbs); this file only wires stages together.
// Stage tasks carry the skip decision as a criteria (from the run journal, see below), so Cake's summary shows
// Skipped/Executed truthfully; the user-facing targets (Download, Extract, Metrics, Figures) are thin aggregates.
// The run lock (src/Tta/Cache/RunLock.cs) is taken here once and held for the whole run; the tta-cli processes of
// the stages learn it from the TTA_RUN_LOCK environment variable. build.sh builds Tta.dll before Cake starts.
#r "../src/Tta.Cli/bin/Release/net10.0/Tta.dll"

var target = Argument("target", "Figures");
var configuration = Argument("configuration", "Release");
// Cake runs from build/; the project root is its parent (build.sh exports it as TTA_ROOT).
var root = EnvironmentVariable("TTA_ROOT") ?? MakeAbsolute(Directory("..")).FullPath;
var cli = System.IO.Path.Combine(root, $"src/Tta.Cli/bin/{configuration}/net10.0/tta-cli.dll");

// Options forwarded to every tta-cli call that reads experiments.
string Forwarded()
{
    var parts = new List<string>();
    foreach (var e in Arguments<string>("experiment", new string[0])) parts.Add($"--experiment=\"{e}\"");
    foreach (var s in Arguments<string>("force-stage", new string[0])) parts.Add($"--force-stage={s}");
    if (HasArgument("force")) parts.Add("--force");
    if (HasArgument("explain")) parts.Add("--explain");
    if (HasArgument("cache")) parts.Add($"--cache=\"{Argument<string>("cache")}\"");
    if (HasArgument("figures")) parts.Add($"--figures=\"{Argument<string>("figures")}\"");
    if (HasArgument("memory-limit")) parts.Add($"--memory-limit={Argument<string>("memory-limit")}");
    foreach (var key in new[] { "jobs", "executor", "partition", "account", "time" })
        if (HasArgument(key)) parts.Add($"--{key}=\"{Argument<string>(key)}\"");
    return string.Join(" ", parts);
}

// --verify re-hashes every recorded output once, when each stage's status is decided (it marks what differs, so
// the run that follows rebuilds it without hashing again).
string Verify() => HasArgument("verify") ? " --verify" : "";

// build.sh starts Cake with tiered PGO off (it only lengthens short runs: Cake and the plan); the run that builds
// units gets the runtime's default back.
int Cli(string arguments) =>
    StartProcess("dotnet", new ProcessSettings
    {
        Arguments = $"\"{cli}\" {arguments} --root=\"{root}\"",
        WorkingDirectory = root,
        EnvironmentVariables = arguments.StartsWith("run ") ? new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "1" } : null,
    });

void CliOrFail(string arguments)
{
    var code = Cli(arguments);
    if (code != 0) throw new CakeException(code, $"tta-cli {arguments.Split(' ')[0]} failed (exit {code}); see the message above");
}

var pipelineTargets = new[] { "Download", "Extract", "Metrics", "Figures", "Archive" };
// The last stage a target needs (Archive builds everything first).
var throughStage = string.Equals(target, "Archive", StringComparison.OrdinalIgnoreCase) ? "Figures"
    : pipelineTargets.FirstOrDefault(t => string.Equals(t, target, StringComparison.OrdinalIgnoreCase)) ?? "Figures";
// Setup's plan (which also checks the experiments) records which stages have stale units, and the run records which stages it ran: the stage tasks'
// criteria read this file instead of starting a process each.
var journal = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tta-run-{System.Environment.ProcessId}.json");
Tta.Execution.RunJournal Journal() => Tta.Execution.RunJournal.Read(journal);
string firstRunner = null;
Tta.Cache.RunLock runLock = null;


Setup(context =>
{
    var workspace = Tta.Cache.Workspace.At(root, HasArgument("cache") ? Argument<string>("cache") : null, HasArgument("figures") ? Argument<string>("figures") : null);
    var pipeline = pipelineTargets.Contains(target, StringComparer.OrdinalIgnoreCase);
    var clean = string.Equals(target, "Clean", StringComparison.OrdinalIgnoreCase);
    // Every option must be one tta knows (Cake itself ignores unknown ones, so a typo would pass silently).
    var given = context.Arguments.GetArguments().SelectMany(a => a.Value.DefaultIfEmpty(null).Select(v => (a.Key, v)));
    if (Tta.Config.KnownOptions.Problem(given, Tta.Config.OptionScope.Build, StringComparison.OrdinalIgnoreCase) is { } problem)
    {
        Error($"error: {problem}");
        throw new CakeException(2, problem);
    }
    if (pipeline || (clean && System.IO.Directory.Exists(workspace.CacheDir)))
    {
        // One lock spans the whole run: shared by runs (units lock themselves), exclusive for Clean, so Clean never
        // slips in between stages.
        runLock = Tta.Cache.RunLock.Acquire(workspace.CacheDir, clean ? Tta.Cache.LockMode.Exclusive : Tta.Cache.LockMode.Shared, null, Console.Out);
        System.Environment.SetEnvironmentVariable(Tta.Cache.RunLock.HeldVariable, runLock.EnvironmentValue);
    }
    // Bad options or experiment files stop the run before any stage touches cache/ or figures/.
    if (pipeline) CliOrFail($"plan --journal=\"{journal}\" --through={throughStage} {Forwarded()}{Verify()}");
});

Teardown(context =>
{
    runLock?.Dispose();
    if (System.IO.File.Exists(journal)) System.IO.File.Delete(journal);
});

// A stage task runs when its stage had stale units at the plan, or ran within an earlier task's process (then it
// only says so). The first stale stage builds every stale stage through the target in one process (a unit starts as
// soon as what it reads is built; with --executor=slurm, one job array per stage chained with afterok).
void StageTask(string task, string stage, string dependsOn)
{
    var t = Task(task).WithCriteria(() => Journal().IsStale(stage) || Journal().Ran(stage), $"{stage} is up to date");
    if (dependsOn != null) t.IsDependentOn(dependsOn);
    t.Does(() =>
    {
        if (firstRunner != null)
        {
            Information($"{stage}: built by the run that {firstRunner} started");
            return;
        }
        firstRunner = task;
        CliOrFail($"run --stage={stage} --through={throughStage} --journal=\"{journal}\" {Forwarded()}");
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
    .Description("Builds and runs the whole test suite.")
    .Does(() =>
    {
        var results = System.IO.Path.Combine(root, "tests/Tta.Tests/TestResults");
        var trx = System.IO.Path.Combine(results, "tta.trx");
        if (System.IO.File.Exists(trx)) System.IO.File.Delete(trx);
        var code = StartProcess("dotnet", new ProcessSettings
        {
            Arguments = $"test tests/Tta.Tests/Tta.Tests.csproj -c {configuration} --logger \"console;verbosity=normal\" --logger \"trx;LogFileName={trx}\"",
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
    .Description("Runs a checkpoint on a case.json: --model=DIR --inputs=case.json --out=FILE.safetensors")
    .Does(() => CliOrFail($"forward --model=\"{Argument<string>("model")}\" --inputs=\"{Argument<string>("inputs")}\" --out=\"{Argument<string>("out")}\"" +
        (HasArgument("masking") ? $" --masking={Argument<string>("masking")}" : "")));

Task("Synth")
    .Description("Writes a synthetic checkpoint of a real model's shape: --shape=NAME --out=DIR [--dtype=…] [--layers=N] [--shards=N] [--weights=random|empty].")
    .Does(() =>
    {
        var extra = "";
        foreach (var key in new[] { "dtype", "layers", "shards", "weights" })
            if (HasArgument(key)) extra += $" --{key}={Argument<string>(key)}";
        CliOrFail($"synth --shape={Argument<string>("shape")} --out=\"{Argument<string>("out")}\"{extra}");
    });

Task("Archive")
    .Description("Builds what is stale, then zips each experiment's results into figures/archives/ (--out=DIR to choose).")
    .IsDependentOn("Render-Figures")
    .Does(() => CliOrFail($"archive {Forwarded()}" + (HasArgument("out") ? $" --out=\"{Argument<string>("out")}\"" : "")));

Task("Verify")
    .Description("Checks an archive: --archive=FILE.zip (checksums, and figures regenerated from its Parquet files).")
    .Does(() => CliOrFail($"verify --archive=\"{Argument<string>("archive")}\""));

Task("Bench")
    .Description("Benchmarks printing ratios against same-run baselines: --only=store,load,memory,extract,figures,tokenizers,scaleout (default all); --falcon-layers=N, --tokens=N.")
    .Does(() =>
    {
        var options = "";
        foreach (var key in new[] { "only", "tokens", "falcon-layers", "repeats", "work" })
            if (HasArgument(key)) options += $" --{key}={Argument<string>(key)}";
        CliOrFail($"bench{options}");
    });

Task("Clean")
    .Description("Deletes what tta wrote in cache/ and figures/ (only folders tta created); --orphans: only results no experiment describes any more.")
    .Does(() => CliOrFail($"clean {Forwarded()}" + (HasArgument("orphans") ? " --orphans" : "")));

RunTarget(target);
