namespace Tta.Config;

/// <summary>
/// Every option of ./build.sh and tta-cli, one line each. An option that is not here is an error naming it and the
/// closest known one (Cake itself ignores unknown arguments, so a typo would otherwise run the default silently).
/// Cake's own options (--verbosity, --dryrun, --showdescription, --tree, --exclusive, …) never reach this check.
/// </summary>
public static class KnownOptions
{
    private const bool Value = true, Flag = false;

    // The targets that run stages (Archive builds what is stale first), and those plus Clean (it reads the experiments
    // and folders too): the targets of the run's options.
    private static readonly string[] Stages = ["Download", "Extract", "Metrics", "Figures", "Archive"];
    private static readonly string[] StagesOrClean = [.. Stages, "Clean"];

    public static readonly IReadOnlyList<KnownOption> All =
    [
        new("target", Value, OptionScope.Build, "what to do: one of the targets above (default Figures)"),
        new("help", Flag, OptionScope.Both, "print the targets (./build.sh) or verbs (tta-cli), and the options"),
        new("configuration", Value, OptionScope.Build, "build configuration (build.sh passes Release)"),
        new("torch", Value, OptionScope.Build, "TorchSharp backend: cpu (default) or cuda"),
        new("experiment", Value, OptionScope.Both, "experiment file or glob (repeatable)", StagesOrClean),
        new("force", Flag, OptionScope.Both, "rerun every stage", Stages),
        new("force-stage", Value, OptionScope.Both, "rerun one stage (repeatable)", Stages),
        new("explain", Flag, OptionScope.Both, "say why each unit is stale, and each file hashed", Stages),
        new("verify", Flag, OptionScope.Both, "re-hash every recorded output and rebuild what differs", Stages),
        new("dry-run", Flag, OptionScope.Both, "list what would run and why, and write nothing (no cache/, lock, manifest or figure)"),
        new("cache", Value, OptionScope.Both, "cache folder (default cache/)", StagesOrClean),
        new("figures", Value, OptionScope.Both, "figures folder (default figures/)", StagesOrClean),
        new("memory-limit", Value, OptionScope.Both, "memory budget for loading a model, e.g. 16G", Stages),
        new("executor", Value, OptionScope.Both, "where units run: local (default) or slurm (job arrays; see README)", Stages),
        new("partition", Value, OptionScope.Both, "Slurm: --partition of every job", Stages),
        new("account", Value, OptionScope.Both, "Slurm: --account of every job", Stages),
        new("time", Value, OptionScope.Both, "Slurm: --time limit of every task (90, 2:00:00, 1-12, …)", Stages),
        new("jobs", Value, OptionScope.Both, "how many figures (and units) run side by side (default: the cores)", Stages),
        new("model", Value, OptionScope.Both, "Forward: checkpoint folder", ["Forward"]),
        new("inputs", Value, OptionScope.Both, "Forward: case.json", ["Forward"]),
        new("out", Value, OptionScope.Both, "Forward: output file; Archive: output folder; Synth: checkpoint folder", ["Forward", "Archive", "Synth"]),
        new("masking", Value, OptionScope.Both, "Forward: correct (causal, default) or reference (Falcon as transformers with SDPA)", ["Forward"]),
        new("shape", Value, OptionScope.Both, "Synth: the model shape (flan-t5-xl, falcon-7b, …)", ["Synth"]),
        new("dtype", Value, OptionScope.Both, "Synth: weight dtype (float32, bfloat16, float16)", ["Synth"]),
        new("layers", Value, OptionScope.Both, "Synth: blocks per stack", ["Synth"]),
        new("shards", Value, OptionScope.Both, "Synth: number of weight files", ["Synth"]),
        new("weights", Value, OptionScope.Both, "Synth: random or empty (sparse zeros)", ["Synth"]),
        new("orphans", Flag, OptionScope.Both, "Clean: remove only results no experiment describes any more (renamed or removed texts, models, experiments)", ["Clean"]),
        new("archive", Value, OptionScope.Both, "Verify: the archive to check", ["Verify"]),
        new("only", Value, OptionScope.Both, "Bench: which benchmarks (store, load, memory, extract, figures, tokenizers, scaleout)", ["Bench"]),
        new("tokens", Value, OptionScope.Both, "Bench: text length of memory and extract (default 512)", ["Bench"]),
        new("falcon-layers", Value, OptionScope.Both, "Bench: blocks of the Falcon-7b shape in memory (default 4, 32 = full)", ["Bench"]),
        new("repeats", Value, OptionScope.Both, "Bench: processes of each kind in extract (default 3)", ["Bench"]),
        new("lane", Value, OptionScope.Build, "Test: fast (the unit tests, under 2 minutes) or full (default: every test, as CI runs them)", ["Test"]),
        new("root", Value, OptionScope.Cli, "project root (default: the current folder)"),
        new("stage", Value, OptionScope.Cli, "status/run: the stage"),
        new("unit", Value, OptionScope.Cli, "run: exactly one unit, by id (tta-cli units lists them)"),
        new("through", Value, OptionScope.Cli, "plan/run: the last stage (run: every stale stage from --stage through it, in one process)"),
        new("journal", Value, OptionScope.Cli, "plan/run: the file Cake's stage tasks read their criteria from"),
        new("poll-seconds", Value, OptionScope.Both, "Slurm: seconds between squeue polls (default 5)", Stages),
        new("work", Value, OptionScope.Both, "Bench: scratch folder", ["Bench"]),
        new("child", Value, OptionScope.Cli, "bench: run as the bare-forward baseline process"),
        new("text", Value, OptionScope.Cli, "bench: text file of the bare-forward baseline"),
        new("store-sizes", Value, OptionScope.Cli, "bench: points,positions,dims of the store benchmark"),
        new("load-bytes", Value, OptionScope.Cli, "bench: size of the load benchmark's checkpoint"),
        new("figure-sizes", Value, OptionScope.Cli, "bench: count,size of the figure benchmark"),
    ];

    /// <summary>
    /// Checks options given as (name, value) pairs (value null for a bare <c>--name</c>) against the table for
    /// <paramref name="scope"/>; returns the first problem, or null.
    /// </summary>
    public static string? Problem(IEnumerable<(string Name, string? Value)> given, OptionScope scope, StringComparison comparison)
    {
        var known = All.Where(o => (o.Scope & scope) != 0).ToList();
        foreach (var (name, value) in given)
        {
            var option = known.FirstOrDefault(o => string.Equals(o.Name, name, comparison));
            if (option is null)
            {
                var guess = Suggestions.Closest(name, known.Select(o => o.Name));
                var hint = guess is null ? $"known options: {string.Join(", ", known.Select(o => "--" + o.Name))}" : $"did you mean --{guess}?";
                return $"unknown option --{name} — {hint}";
            }
            if (option.TakesValue && string.IsNullOrEmpty(value))
                return $"option --{option.Name} needs a value: --{option.Name}=…";
            if (!option.TakesValue && value is not (null or "" or "true" or "false" or "True" or "False"))
                return $"option --{option.Name} is a switch and takes no value (got '{value}')";
        }
        return null;
    }

    /// <summary>The first option in <paramref name="given"/> that <paramref name="target"/> does not read, as an error; or null.</summary>
    public static string? NotForTarget(IEnumerable<(string Name, string? Value)> given, string target)
    {
        foreach (var (name, _) in given)
            if (All.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.OrdinalIgnoreCase)) is { Targets: { } targets } option
                && !targets.Contains(target, StringComparer.OrdinalIgnoreCase))
                return $"--{option.Name} applies to --target={string.Join(" or --target=", targets)}, not {target}; it would be ignored — drop it, or give the target it is for";
        return null;
    }
}
