using Tta.Config;

namespace Tta.Build;

/// <summary>
/// Every option of ./build.sh, one line each: the one table behind its help, its check and what Cake passes on to
/// tta-cli (whose own options are declared by its verbs). An option that is not here is an error naming it and the
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
        new("target", Value, "what to do: one of the targets above (default Figures)"),
        new("help", Flag, "print the targets and the options"),
        new("configuration", Value, "build configuration (build.sh passes Release)"),
        new("torch", Value, "TorchSharp backend: cpu (default) or cuda"),
        new("experiment", Value, "experiment file or glob (repeatable)", StagesOrClean, Forwarded: true, Repeatable: true),
        new("force", Flag, "rerun every stage", Stages, Forwarded: true),
        new("force-stage", Value, "rerun one stage (repeatable)", Stages, Forwarded: true, Repeatable: true),
        new("explain", Flag, "say why each unit is stale, and each file hashed", Stages, Forwarded: true),
        new("verify", Flag, "re-hash every recorded output and rebuild what differs", Stages),
        new("dry-run", Flag, "list what would run and why, and write nothing (no cache/, lock, manifest or figure)", Forwarded: true),
        new("cache", Value, "cache folder (default cache/)", StagesOrClean, Forwarded: true),
        new("figures", Value, "figures folder (default figures/)", StagesOrClean, Forwarded: true),
        new("memory-limit", Value, "memory budget for loading a model, e.g. 16G", Stages, Forwarded: true),
        new("executor", Value, "where units run: local (default) or slurm (job arrays; see README)", Stages, Forwarded: true),
        new("partition", Value, "Slurm: --partition of every job", Stages, Forwarded: true),
        new("account", Value, "Slurm: --account of every job", Stages, Forwarded: true),
        new("time", Value, "Slurm: --time limit of every task (90, 2:00:00, 1-12, …)", Stages, Forwarded: true),
        new("group-size", Value, "Slurm: at most K units per task (units that share a model: one load serves them; default: as many as the time limit allows, at most 16)", Stages, Forwarded: true),
        new("jobs", Value, "the cores to keep busy: N units side by side and one more that fills their waits, N figures within a unit (default: the cores)", Stages, Forwarded: true),
        new("model", Value, "Forward: checkpoint folder", ["Forward"]),
        new("inputs", Value, "Forward: case.json", ["Forward"]),
        new("out", Value, "Forward: output file; Archive: output folder; Synth: checkpoint folder", ["Forward", "Archive", "Synth"]),
        new("masking", Value, "Forward: correct (causal, default) or reference (Falcon as transformers with SDPA)", ["Forward"]),
        new("shape", Value, "Synth: the model shape (flan-t5-xl, falcon-7b, …)", ["Synth"]),
        new("dtype", Value, "Synth: weight dtype (float32, bfloat16, float16)", ["Synth"]),
        new("layers", Value, "Synth: blocks per stack", ["Synth"]),
        new("shards", Value, "Synth: number of weight files", ["Synth"]),
        new("weights", Value, "Synth: random or empty (sparse zeros)", ["Synth"]),
        new("orphans", Flag, "Clean: remove only results no experiment describes any more (renamed or removed texts, models, experiments)", ["Clean"]),
        new("archive", Value, "Verify: the archive to check", ["Verify"]),
        new("only", Value, "Bench: which benchmarks (store, load, memory, compute, extract, figures, tokenizers, scaleout, corpus-extract, noop, study)", ["Bench"]),
        new("tokens", Value, "Bench: text length of memory and extract (default 512)", ["Bench"]),
        new("falcon-layers", Value, "Bench: blocks of the Falcon-7b shape in memory (default 4, 32 = full)", ["Bench"]),
        new("load-layers", Value, "Bench: blocks per stack of load's Flan-T5-xl-shaped checkpoint (default 24 = full, 11.4 GB; 0 leaves it out)", ["Bench"]),
        new("load-bytes", Value, "Bench: size in bytes of load's bfloat16 checkpoint (default 1 GiB)", ["Bench"]),
        new("study-sizes", Value, "Bench: corpus sizes of study, comma-separated (default 50,2000)", ["Bench"]),
        new("repeats", Value, "Bench: processes of each kind in extract (default 3)", ["Bench"]),
        new("lane", Value, "Test: fast (the unit tests, under 2 minutes) or full (default: every test, as CI runs them)", ["Test"]),
        new("poll-seconds", Value, "Slurm: seconds between squeue polls (default 5)", Stages, Forwarded: true),
        new("work", Value, "Bench: scratch folder", ["Bench"]),
        new("texts", Value, "Bench: corpus sizes of corpus-extract (default 500) and noop (default 50,500,2000)", ["Bench"]),
        new("batch", Value, "Bench: texts per forward pass of corpus-extract (extract.batch; default 16)", ["Bench"]),
    ];

    /// <summary>
    /// Checks options given as (name, value) pairs (value null for a bare <c>--name</c>; names in any case, as Cake
    /// reads them) against the table; returns the first problem, or null.
    /// </summary>
    public static string? Problem(IEnumerable<(string Name, string? Value)> given)
    {
        foreach (var (name, value) in given)
        {
            var option = Find(name);
            if (option is null)
            {
                var guess = Suggestions.Closest(name, All.Select(o => o.Name));
                var hint = guess is null ? $"known options: {string.Join(", ", All.Select(o => "--" + o.Name))}" : $"did you mean --{guess}?";
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
            if (Find(name) is { Targets: { } targets } option
                && !targets.Contains(target, StringComparer.OrdinalIgnoreCase))
                return $"--{option.Name} applies to --target={string.Join(" or --target=", targets)}, not {target}; it would be ignored — drop it, or give the target it is for";
        return null;
    }

    /// <summary>The option named <paramref name="name"/> (any case), or null.</summary>
    public static KnownOption? Find(string name) => All.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.OrdinalIgnoreCase));
}
