using Tta.Config;

/// <summary>
/// Every option of ./build.sh and tta-cli, one line each. An option that is not here is an error naming it and the
/// closest known one (Cake itself ignores unknown arguments, so a typo would otherwise run the default silently).
/// Cake's own options (--verbosity, --dryrun, --showdescription, --tree, --exclusive, …) never reach this check.
/// </summary>
internal static class KnownOptions
{
    private const bool Value = true, Flag = false;

    public static readonly IReadOnlyList<KnownOption> All =
    [
        new("target", Value, OptionScope.Build, "Cake target (Figures, Download, Extract, Metrics, Archive, Verify, Clean, Test, Bench, Forward)"),
        new("configuration", Value, OptionScope.Build, "build configuration (build.sh passes Release)"),
        new("torch", Value, OptionScope.Build, "TorchSharp backend: cpu (default) or cuda"),
        new("experiment", Value, OptionScope.Both, "experiment file or glob (repeatable)"),
        new("force", Flag, OptionScope.Both, "rerun every stage"),
        new("force-stage", Value, OptionScope.Both, "rerun one stage (repeatable)"),
        new("explain", Flag, OptionScope.Both, "say why each unit is stale, and each file hashed"),
        new("verify", Flag, OptionScope.Both, "re-hash every recorded output and rebuild what differs"),
        new("cache", Value, OptionScope.Both, "cache folder (default cache/)"),
        new("figures", Value, OptionScope.Both, "figures folder (default figures/)"),
        new("memory-limit", Value, OptionScope.Both, "memory budget for loading a model, e.g. 16G"),
        new("model", Value, OptionScope.Both, "Forward: checkpoint folder"),
        new("inputs", Value, OptionScope.Both, "Forward: case.json"),
        new("out", Value, OptionScope.Both, "Forward: output file; Archive: output folder"),
        new("masking", Value, OptionScope.Both, "Forward: Falcon masking, reference or correct"),
        new("archive", Value, OptionScope.Both, "Verify: the archive to check"),
        new("only", Value, OptionScope.Both, "Bench: which benchmarks"),
        new("root", Value, OptionScope.Cli, "project root (default: the current folder)"),
        new("stage", Value, OptionScope.Cli, "status/run: the stage"),
        new("work", Value, OptionScope.Cli, "bench: scratch folder"),
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
                var guess = ExperimentLoader.Closest(name, known.Select(o => o.Name));
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
}
