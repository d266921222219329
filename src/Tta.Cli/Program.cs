using System.Runtime.InteropServices;
using Tta.Core;
using Tta;
using Tta.Cache;
using Tta.Config;
using Tta.Execution;

// tta-cli: one verb per pipeline step; build/build.cake calls these. Exit codes: 0 ok (status: up to date),
// 3 status: stale, 4 verify: checksums match but some units were made by other code (not regenerated), 2 bad input
// (experiment file), 1 any other failure.
var exitCode = TtaCli.Run(args, Console.Out, Console.Error);
ProcessMemory.ReportPeak();
return QuickExit.After(exitCode);

/// <summary>The CLI's verbs, callable in-process (tests use it with their own writers).</summary>
public static class TtaCli
{
    public const int Stale = 3;
    public const int BadInput = 2;
    public const int NotRegenerated = 4; // verify: checksums match, but some units were made by other code

    public static readonly IReadOnlyList<string> Verbs = ["validate", "plan", "status", "run", "units", "forward", "clean", "archive", "verify", "bench", "synth", "check-options", "help"];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var options = Options.Parse(args);
        var io = new Writers(stdout, stderr, Explain: options.Has("explain"));
        if (options.Verb == "check-options") return CheckOptions(options, io);
        if (options.Verb is "help" or "-h" || options.Has("help"))
        {
            // tta-cli help build: what ./build.sh --help prints (the targets and ./build.sh's options).
            io.Out.Write(args.Contains("build") ? Help.ForBuild() : UsageText());
            return 0;
        }
        if (KnownOptions.Problem(options.Given, OptionScope.Cli, StringComparison.Ordinal) is { } problem)
        {
            io.Error.WriteLine($"error: {problem}");
            return BadInput;
        }
        try
        {
            return options.Verb switch
            {
                "validate" => Validate(options, io),
                "status" => Status(options, io),
                "run" => RunStage(options, io),
                "units" => Units(options, io),
                "plan" => Plan(options, io),
                "forward" => Forward(options, io),
                "clean" => Clean(options, io),
                "archive" => Archive(options, io),
                "verify" => Verify(options, io),
                "bench" => Bench(options, io),
                "synth" => Synth(options, io),
                _ => Usage(options, io),
            };
        }
        catch (ConfigException e)
        {
            foreach (var line in e.Problems) io.Error.WriteLine($"error: {line}");
            return BadInput;
        }
        catch (BadInputException e)
        {
            io.Error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            io.Error.WriteLine("error: the run was interrupted (Ctrl-C or SIGTERM); its Slurm jobs were cancelled (scancel). Run again to build what is still stale");
            return 130;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
        {
            io.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// check-options: the options ./build.sh was given (Cake passes its arguments here), checked against the table
    /// of known options; exit 2 naming an unknown one.
    /// </summary>
    private static int CheckOptions(Options o, Writers io)
    {
        var given = o.Given.ToList();
        if (given.Count > 0 && given[^1].Name == "root") given.RemoveAt(given.Count - 1); // what build.cake adds to every call
        if (KnownOptions.Problem(given, OptionScope.Build, StringComparison.OrdinalIgnoreCase) is not { } problem) return 0;
        io.Error.WriteLine($"error: {problem}");
        return BadInput;
    }

    /// <summary>
    /// plan --journal=FILE --through=STAGE [options]: what Cake's Setup calls once. Checks the experiments, then records
    /// in the journal which stages up to STAGE have stale units (the stage tasks' criteria read it: one process instead
    /// of one per stage). Exit 2 on bad input.
    /// </summary>
    private static int Plan(Options o, Writers io)
    {
        var inputs = Inputs(o);
        var through = Pipeline.Canonical(o.Required("through"));
        var journal = new RunJournal();
        if (o.Has("dry-run"))
        {
            journal.Write(o.Required("journal")); // no stage stale: Cake's stage tasks run nothing
            return DryRun(inputs, Pipeline.StageNames.Take(Pipeline.Order(through) + 1).ToList(), o, io);
        }
        using var c = Context(inputs, io);
        foreach (var stage in Pipeline.StageNames.Take(Pipeline.Order(through) + 1))
        {
            var statuses = Pipeline.Check(stage, c, Forced(o, stage), o.Has("verify"));
            var entry = journal[stage];
            entry.Units = statuses.Count;
            entry.StaleUnits = statuses.Count(s => !s.UpToDate);
            entry.Stale = entry.StaleUnits > 0;
            if (o.Has("explain") || o.Has("verify"))
                foreach (var s in statuses)
                    io.Out.WriteLine(Describe(stage, s, "stale"));
        }
        if (o.Has("explain")) WriteOrphans(c, io);
        journal.Write(o.Required("journal"));
        return 0;
    }

    private static int Usage(Options o, Writers io)
    {
        if (o.Verb.Length > 0)
        {
            var guess = Suggestions.Closest(o.Verb, Verbs);
            io.Error.WriteLine($"error: unknown verb '{o.Verb}'{(guess is null ? "" : $" — did you mean '{guess}'?")}");
        }
        io.Error.Write(UsageText());
        return BadInput;
    }

    private static string UsageText() => """
            usage: tta-cli <verb> [options]
              validate  --experiment=PATH|GLOB …          check experiment files
              status    --stage=STAGE [--explain] [--verify] exit 0 when up to date, 3 when stale
              run       --stage=STAGE [--explain] [--verify] run the stale units of a stage (--jobs at a time)
              run       --unit=ID                          run exactly one unit (if stale, or with --force)
              units     [--stage=STAGE]                    list the run's unit ids and whether each is up to date
              forward   --model=DIR --inputs=case.json --out=FILE.safetensors
              clean     [--orphans]                        delete what tta wrote in cache/ and figures/ (--orphans: only what no experiment describes)
              archive   [--experiment=…] [--out=DIR]       zip each experiment's results (default DIR: figures/archives)
              verify    --archive=FILE.zip                 check an archive's checksums and regenerate its figures
              synth     --shape=NAME --out=DIR [--dtype=float32|bfloat16|float16] [--layers=N] [--shards=N] [--weights=random|empty]
                        write a synthetic checkpoint of a real model's shape (t5-base, flan-t5-base, flan-t5-xl, falcon-7b,
                        llama-2-7b, tinyllama-1.1b) and print its memory estimate
              check-options --NAME=VALUE …                 check ./build.sh options against the known ones
              help [build]                                 this text (build: ./build.sh's targets and options)
            options:

            """ + Help.Options(OptionScope.Cli);

    /// <summary>The run's inputs, every one checked (experiments and option values) before anything is touched.</summary>
    private static RunInputs Inputs(Options o)
    {
        try
        {
            return RunInputs.Check(o.Get("root") ?? Directory.GetCurrentDirectory(), o.Get, o.All("experiment"), o.All("force-stage"));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException)
        {
            throw new BadInputException(e.Message); // a bad option value or an unreadable experiment file: exit 2, as ./build.sh gives for it
        }
    }

    /// <summary>Bad input found before anything ran (an option's value): exit <see cref="BadInput"/>.</summary>
    private sealed class BadInputException(string message) : Exception(message);

    private static RunContext Context(Options o, Writers io) => Context(Inputs(o), io);

    private static RunContext Context(RunInputs inputs, Writers io)
    {
        // Progress of the running units: a live block on a terminal, plain lines in logs and CI.
        var progress = new ProgressDisplay(io.Out, live: ReferenceEquals(io.Out, Console.Out) && ProgressDisplay.ConsoleIsLive);
        return new RunContext(inputs.Workspace, inputs.Experiments, progress.Log)
        {
            Progress = progress,
            // --explain: each file hashed, with where its hash came from, above the live block like every other line.
            HashLog = io.Explain ? new HashLogWriter(progress.Log) : null,
            MemoryLimitBytes = inputs.Settings.MemoryLimitBytes,
            Jobs = inputs.Settings.Jobs,
        };
    }

    private static int Validate(Options o, Writers io)
    {
        var c = Context(o, io);
        foreach (var e in c.Experiments)
            io.Out.WriteLine($"ok: {c.Workspace.Relative(e.SourcePath)} — experiment '{e.Name}', {e.Models.Count} model(s), {e.Texts.Count} text(s)");
        return 0;
    }

    private static bool Forced(Options o, string stage) =>
        o.Has("force") || o.All("force-stage").Any(s => Pipeline.Canonical(s) == stage);

    /// <summary>One unit's line of --explain (and of --dry-run, whose stale units "would run").</summary>
    private static string Describe(string stage, UnitStatus s, string staleWord) =>
        s.UpToDate ? $"{stage} {s.Unit.Key}: up to date" : $"{stage} {s.Unit.Key}: {staleWord} — {string.Join("; ", s.Reasons)}";

    /// <summary>The folders no experiment describes any more (--explain).</summary>
    private static void WriteOrphans(RunContext c, Writers io)
    {
        foreach (var line in OrphanUnits.Explain(c.Workspace, c.Experiments)) io.Out.WriteLine(line);
    }

    private static int Status(Options o, Writers io)
    {
        var stage = Pipeline.Canonical(o.Required("stage"));
        var c = Context(o, io);
        var statuses = Pipeline.Check(stage, c, Forced(o, stage), o.Has("verify"));
        var stale = statuses.Where(s => !s.UpToDate).ToList();
        if (o.Has("explain") || o.Has("verify"))
            foreach (var s in statuses)
                io.Out.WriteLine(Describe(stage, s, "stale"));
        if (o.Has("explain")) WriteOrphans(c, io);
        return stale.Count == 0 ? 0 : Stale;
    }

    private static RunOptions RunOptions(Options o) => new(u => Forced(o, u.Stage), o.Has("explain"), o.Has("verify"));

    /// <summary>
    /// run --stage=STAGE [--through=LAST]: the stale units of STAGE (through LAST, one process: a unit starts as soon
    /// as what it reads is built), side by side (--jobs), here or on Slurm (--executor); run --unit=ID: exactly that
    /// unit. With --journal=FILE, records which stages ran (for Cake's summary).
    /// </summary>
    private static int RunStage(Options o, Writers io)
    {
        var inputs = Inputs(o);
        var first = Pipeline.Order(o.Get("unit") is null ? o.Required("stage") : Pipeline.StageNames[0]);
        var last = o.Get("through") is { } t ? Math.Max(first, Pipeline.Order(t)) : first;
        var stages = Pipeline.StageNames.Skip(first).Take(last - first + 1).ToList();
        if (o.Has("dry-run")) return DryRun(inputs, stages, o, io);
        using var c = Context(inputs, io);
        if (o.Get("unit") is { } id)
        {
            Pipeline.RunUnit(id, c, RunOptions(o));
            return 0;
        }
        var slurm = Slurm(inputs.Settings, c);
        var journal = o.Get("journal");
        var tracker = new RunTracker
        {
            StageFinished = journal is null ? null : (stage, ran) => RunJournal.Record(journal, stage, RunJournal.StageState.Finished, ran),
        };
        using var cancel = new CancellationTokenSource();
        // Ctrl-C (SIGINT) or SIGTERM (a scheduler or CI stopping us): on Slurm, the run's jobs are cancelled before this
        // process ends; here, the run says what it interrupts and what the next run redoes, then ends as signalled
        // (units write through temporary files and record a unit only when it is complete, so nothing half-written is
        // trusted).
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(signal => PosixSignalRegistration.Create(signal, context =>
        {
            if (slurm is not null)
            {
                context.Cancel = true;
                cancel.Cancel();
                return;
            }
            c.Progress?.Dispose(); // the live block goes before the report
            io.Error.WriteLine(tracker.InterruptionReport());
            io.Error.Flush();
        })).ToList();
        try
        {
            Pipeline.Run(stages, c, RunOptions(o) with { Tracker = tracker }, slurm, cancel.Token);
            if (journal is not null)
                foreach (var stage in stages) RunJournal.Record(journal, stage, RunJournal.StageState.Finished);
        }
        catch (Exception) when (journal is not null)
        {
            if ((tracker.FailedStage ?? stages.FirstOrDefault(s => RunJournal.Read(journal)[s].State == RunJournal.StageState.Waiting)) is { } failed)
                RunJournal.Record(journal, failed, RunJournal.StageState.Failed);
            throw;
        }
        finally
        {
            foreach (var registration in signals) registration.Dispose();
        }
        return 0;
    }

    /// <summary>
    /// --dry-run: what a run of <paramref name="stages"/> would build and why (the --explain reasons), written nowhere
    /// but the output: no lock, no folder, no manifest.
    /// </summary>
    private static int DryRun(RunInputs inputs, IReadOnlyList<string> stages, Options o, Writers io)
    {
        if (o.Has("verify")) throw new ArgumentException("--dry-run with --verify: verifying marks what differs, which writes; run --verify without --dry-run");
        using var c = new RunContext(inputs.Workspace, inputs.Experiments, io.Out) { HashLog = io.Explain ? new HashLogWriter(io.Out) : null };
        var wouldRun = 0;
        foreach (var stage in stages)
            foreach (var s in Pipeline.Check(stage, c, Forced(o, stage)))
            {
                if (!s.UpToDate) wouldRun++;
                io.Out.WriteLine(Describe(stage, s, "would run"));
            }
        io.Out.WriteLine($"dry run: {wouldRun} unit(s) would run{(wouldRun > 0 ? " (units that read them are checked again once they are rebuilt)" : "")}; nothing was written");
        return 0;
    }

    /// <summary>
    /// The Slurm settings when the run goes to Slurm (--executor=slurm, or executor: kind: slurm in the experiments;
    /// --partition, --account and --time win over the experiments' values, see <see cref="RunSettings"/>); null for
    /// this machine.
    /// </summary>
    private static SlurmSettings? Slurm(RunSettings settings, RunContext c)
    {
        if (settings.Slurm is not { } options) return null;
        var common = new List<string> { $"--root={c.Workspace.Root}", $"--cache={c.Workspace.CacheDir}", $"--figures={c.Workspace.FiguresDir}" };
        common.AddRange(c.Experiments.Select(e => $"--experiment={e.SourcePath}"));
        return new SlurmSettings(options, ["dotnet", typeof(TtaCli).Assembly.Location], common)
        {
            PollInterval = settings.PollInterval,
            Progress = Tta.Execution.Slurm.SlurmProgressWriter.ForConsole(),
        };
    }

    /// <summary>units [--stage=STAGE]: every unit id of the run (what run --unit takes), with its status.</summary>
    private static int Units(Options o, Writers io)
    {
        using var c = Context(o, io);
        var graph = Tta.Execution.UnitGraph.For(c);
        var stage = o.Get("stage") is { } s ? Pipeline.Canonical(s) : null;
        foreach (var unit in graph.Units.Where(u => stage is null || u.Stage == stage))
        {
            var status = StageRunner.Check(unit, c.Workspace, hashLog: c.HashLog);
            io.Out.WriteLine($"{unit.Id}\t{(status.UpToDate ? "up to date" : "stale")}");
        }
        return 0;
    }

    private static int Archive(Options o, Writers io)
    {
        var inputs = Inputs(o);
        var outDir = o.Get("out") is { } dir ? Path.GetFullPath(dir, inputs.Workspace.Root) : Tta.Archive.ExperimentArchive.DefaultDirectory(inputs.Workspace);
        if (o.Has("dry-run"))
        {
            foreach (var e in inputs.Experiments) io.Out.WriteLine($"dry run: would archive '{e.Name}' into {inputs.Workspace.Relative(outDir)}/");
            return 0;
        }
        var c = Context(inputs, io);
        foreach (var e in c.Experiments)
            io.Out.WriteLine($"archived '{e.Name}': {c.Workspace.Relative(Tta.Archive.ExperimentArchive.Create(c.Workspace, e, outDir, io.Out))}");
        return 0;
    }

    private static int Verify(Options o, Writers io)
    {
        var root = o.Get("root") ?? Directory.GetCurrentDirectory();
        var path = Path.GetFullPath(o.Required("archive"), root);
        if (!File.Exists(path)) throw new FileNotFoundException($"archive not found: {path}");
        var report = Tta.Archive.ArchiveVerifier.Verify(path, io.Out);
        foreach (var p in report.Problems) io.Error.WriteLine($"FAILED {p}");
        foreach (var n in report.NotRegenerated) io.Error.WriteLine($"NOT REGENERATED {n}");
        if (!report.Ok)
        {
            io.Out.WriteLine($"{Path.GetFileName(path)}: {report.Problems.Count} problem(s)");
            return 1;
        }
        var checkedText = $"{report.MembersChecked} members match their checksums, {report.FiguresCompared} regenerated figure file(s) are identical";
        if (report.Complete)
        {
            io.Out.WriteLine($"ok: {Path.GetFileName(path)} — {checkedText}");
            return 0;
        }
        // Checksums prove the members are the ones archived, not that the figures follow from the data: say what
        // was left unproven and which tta can prove it.
        io.Out.WriteLine($"incomplete: {Path.GetFileName(path)} — {checkedText}; {report.NotRegenerated.Count} unit(s) were made by other code than this tta's and were not regenerated. "
            + (report.MadeBy is { } commit
                ? $"Verify with the tta the run manifest records (git checkout {commit}, then ./build.sh --target=Verify --archive=…)"
                : "The run manifest records no git commit; verify with the tta release that made the archive"));
        return NotRegenerated;
    }

    /// <summary>
    /// Runs a checkpoint on a case.json and writes every internal tensor under the fixtures' names. By default
    /// (--masking=correct) attention is masked causally, as the Extract stage does. Falcon with --masking=reference
    /// reproduces what transformers does when attention weights are requested from a Falcon loaded with SDPA attention
    /// (it adds the boolean mask built for SDPA to the scores: +1 where allowed, +0 elsewhere, no masking at all); the
    /// shared Falcon fixtures were recorded that way, so diffs against such PyTorch runs need it.
    /// </summary>
    private static int Forward(Options o, Writers io)
    {
        var masking = o.Get("masking") ?? "correct";
        if (masking is not ("reference" or "correct")) throw new ArgumentException("--masking must be reference or correct");
        return Tta.Models.ForwardRunner.Run(o.Required("model"), o.Required("inputs"), o.Required("out"), io.Out, model =>
        {
            if (model is Tta.Models.Falcon falcon && masking == "reference")
            {
                falcon.EmulateReferenceBoolMaskBug = true;
                io.Out.WriteLine("forward: Falcon attention masked as transformers does when it returns attention weights from an SDPA-loaded model (--masking=reference); the default --masking=correct masks causally");
            }
        });
    }

    /// <summary>
    /// Benchmarks that print ratios against baselines measured in the same run (never timed tests):
    /// store (Parquet write/read, similarity maps), load (checkpoint peak RSS / file size), memory (peak RSS of Extract
    /// at 512 tokens vs weights, estimate beside it; --falcon-layers=N, 32 = full Falcon-7b), extract (Extract stage vs
    /// load + bare forward), figures (vs matplotlib), tokenizers (vs Hugging Face), scaleout (--jobs=1 vs 2, no-op vs
    /// Snakemake). --only=store,load,memory,extract,figures,tokenizers,scaleout picks some.
    /// </summary>
    private static int Bench(Options o, Writers io)
    {
        if (o.Get("child") == "forward")
            return Tta.Models.ModelBenchmark.BareForward(o.Required("model"), o.Required("text"), o.Get("dtype") ?? "float32", io.Out);
        string[] benchmarks = ["store", "load", "memory", "extract", "figures", "tokenizers", "scaleout"];
        var only = o.All("only").SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (only.FirstOrDefault(name => !benchmarks.Contains(name)) is { } unknown)
            throw new ArgumentException($"--only={unknown}: no such benchmark; write one or more of {string.Join(",", benchmarks)}");
        bool Wanted(string name) => only.Count == 0 || only.Contains(name);
        var work = o.Get("work") ?? Path.GetTempPath();
        int[]? Sizes(string key) => o.Get(key)?.Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (Wanted("store"))
        {
            var s = Sizes("store-sizes") ?? [33, 512, 4544];
            Tta.Metrics.StoreBenchmark.Run(io.Out, work, s[0], s[1], s[2]);
        }
        if (Wanted("load"))
            Tta.Models.LoadBenchmark.Run(io.Out, work, long.Parse(o.Get("load-bytes") ?? (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture));
        if (Wanted("memory"))
            Tta.Models.ModelBenchmark.RunMemory(io.Out, work, Sizes("tokens")?[0] ?? 512, Sizes("falcon-layers")?[0] ?? 4);
        if (Wanted("extract"))
            Tta.Models.ModelBenchmark.RunExtract(io.Out, work, Sizes("tokens")?[0] ?? 512, Sizes("repeats")?[0] ?? 3);
        if (Wanted("figures"))
        {
            var s = Sizes("figure-sizes") ?? [100, 512, 12]; // count, tokens, cell pixels
            Tta.Figures.FigureBenchmark.Run(io.Out, work, s[0], s[1], s.Length > 2 ? s[2] : 12,
                int.TryParse(o.Get("jobs"), out var jobs) ? jobs : Environment.ProcessorCount);
        }
        if (Wanted("tokenizers"))
            Tta.Tokenizers.TokenizerBenchmark.Run(io.Out, work, o.Get("root") ?? Directory.GetCurrentDirectory());
        if (Wanted("scaleout"))
            ScaleOutBenchmark.Run(io.Out, work, o.Get("root") ?? Directory.GetCurrentDirectory(), Sizes("repeats")?[0] ?? 3);
        return 0;
    }

    /// <summary>
    /// Writes a synthetic checkpoint (<see cref="Tta.Models.SyntheticCheckpoint"/>) and prints what running it would
    /// need at 512 tokens, so memory can be planned before downloading the real one.
    /// </summary>
    private static int Synth(Options o, Writers io)
    {
        var root = o.Get("root") ?? Directory.GetCurrentDirectory();
        var outDir = Path.GetFullPath(o.Required("out"), root);
        int? Int(string key) => o.Get(key) is { } v
            ? int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"--{key}={v}: write a positive whole number")
            : null;
        var weights = o.Get("weights") ?? "random";
        if (weights is not ("random" or "empty")) throw new ArgumentException($"--weights={weights}: use random or empty (sparse files of zeros)");
        var dtype = o.Get("dtype") is { } d ? Tta.Models.DTypes.Parse(d) : (TorchSharp.torch.ScalarType?)null;
        var result = Tta.Models.SyntheticCheckpoint.Write(outDir, o.Required("shape"), dtype, Int("layers"), Int("shards"), weights == "random");
        io.Out.WriteLine($"synth: {result}");
        var estimate = Tta.Models.MemoryEstimate.For(outDir, result.DType, 512);
        io.Out.WriteLine($"synth: running it on 512 tokens needs {estimate}{(estimate.Fits ? "" : " — does not fit here")}");
        return 0;
    }

    private static int Clean(Options o, Writers io)
    {
        var ws = Workspace.At(o.Get("root") ?? Directory.GetCurrentDirectory(), o.Get("cache"), o.Get("figures"));
        // --orphans: only what no experiment describes any more; the experiments given (if any) count as described.
        var orphans = o.Has("orphans");
        var experiments = orphans && o.All("experiment").Count > 0
            ? ExperimentPaths.Resolve(o.All("experiment"), ws.Root).Select(p => ExperimentLoader.Load(p, Tta.Metrics.MetricKinds.All)).ToList()
            : [];
        var report = WorkspaceCleaner.Clean(ws, null, io.Out, orphans ? () => OrphanUnits.Files(ws, experiments) : null);
        io.Out.WriteLine(orphans
            ? $"removed {report.FilesRemoved} file(s) of results no experiment describes any more; current results stay"
            : $"removed {report.FilesRemoved} file(s) that tta wrote in {ws.Relative(ws.CacheDir)}/ and {ws.Relative(ws.FiguresDir)}/");
        if (report.Kept.Count > 0)
            io.Out.WriteLine($"kept {report.Kept.Count} file(s) that tta did not write (delete them yourself if you do not need them): " +
                             string.Join(", ", report.Kept.Take(10).Select(ws.Relative)) + (report.Kept.Count > 10 ? ", …" : ""));
        return 0;
    }
}

/// <summary>The verb's output and error streams; <paramref name="Explain"/>: --explain (hash lines in the output).</summary>
internal sealed record Writers(TextWriter Out, TextWriter Error, bool Explain = false);

/// <summary>--key=value and --flag options after a verb; repeated keys accumulate. Checked against <see cref="KnownOptions"/>.</summary>
internal sealed class Options
{
    private readonly List<KeyValuePair<string, string?>> values = [];
    public string Verb { get; private set; } = "";

    public static Options Parse(string[] args)
    {
        var o = new Options();
        foreach (var a in args)
        {
            if (!a.StartsWith("--", StringComparison.Ordinal)) { if (o.Verb == "") o.Verb = a; continue; }
            var eq = a.IndexOf('=');
            o.values.Add(eq < 0 ? new(a[2..], null) : new(a[2..eq], a[(eq + 1)..]));
        }
        return o;
    }

    /// <summary>Every option as given: name and value (null for a bare <c>--name</c>).</summary>
    public IEnumerable<(string Name, string? Value)> Given => values.Select(kv => (kv.Key, kv.Value));

    public string? Get(string key) => values.LastOrDefault(kv => kv.Key == key).Value;
    public bool Has(string key) => values.Any(kv => kv.Key == key && kv.Value is null or "true");
    public List<string> All(string key) => values.Where(kv => kv.Key == key && kv.Value is not null)
        .SelectMany(kv => kv.Value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
    public string Required(string key) => Get(key) ?? throw new ArgumentException($"--{key}=… is required");
}
