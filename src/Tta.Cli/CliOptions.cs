using Tta.Pipeline;
using Tta.Config;
using System.CommandLine;
using System.CommandLine.Parsing;
using Tta.Execution;
using Tta.Execution.Slurm;

namespace Tta.Cli;

/// <summary>
/// tta-cli's options, each made here once (a verb adds the ones it reads). Every option takes <c>--name=value</c>
/// (the form Cake passes) as well as <c>--name value</c>; a value given twice keeps the last. Values are checked by
/// the parser with the library's own checks, so a bad one is an error (exit 2) before anything runs.
/// </summary>
internal static class CliOptions
{
    public static Option<string?> Root() => Text("root", "DIR", "project root (default: the current folder)");

    public static Option<string[]> Experiments() => List("experiment", "PATH|GLOB", "experiment file or glob (repeatable, or comma-separated; default experiments/default.yaml)");
    public static Option<string?> Cache() => Text("cache", "DIR", "cache folder (default cache/)");
    public static Option<string?> Figures() => Text("figures", "DIR", "figures folder (default figures/)");

    public static Option<long?> MemoryLimit() => Parsed("memory-limit", "SIZE", "memory budget for loading a model, e.g. 16G", RunSettings.ParseBytes);
    public static Option<int?> Jobs() => Parsed("jobs", "N", "the cores to keep busy: N units side by side and one more that fills their waits, N figures within a unit (default: the cores)", RunSettings.ParseJobs);
    public static Option<string?> Executor() => Text("executor", "KIND", "where units run: local (default) or slurm (job arrays; see README)",
        RunSettings.CheckExecutor, [.. Config.ExperimentLoader.ExecutorKinds]);
    public static Option<string?> Partition() => Text("partition", "NAME", "Slurm: --partition of every job");
    public static Option<string?> Account() => Text("account", "NAME", "Slurm: --account of every job");
    public static Option<TimeSpan?> Time() => Parsed("time", "LIMIT", "Slurm: --time limit of every task (90, 2:00:00, 1-12, …)", t => SlurmTimeLimit.Parse(t, "--time"));
    public static Option<int?> GroupSize() => Parsed("group-size", "K", "Slurm: at most K units per task (units that share a model: one load serves them; default: as many as the time limit allows, at most 16)", RunSettings.ParseGroupSize);
    public static Option<TimeSpan?> PollSeconds() => Parsed("poll-seconds", "SECONDS", "Slurm: seconds between squeue polls (default 5)", RunSettings.ParsePollInterval);

    public static Option<bool> Force() => Switch("force", "rerun every stage");
    public static Option<string[]> ForceStages() => List("force-stage", "STAGE", "rerun one stage (repeatable)", s => Stages.Canonical(s, "force-stage"), Stages.StageNames);
    public static Option<bool> Explain() => Switch("explain", "say why each unit is stale, and each file hashed");
    public static Option<bool> Verify() => Switch("verify", "re-hash every recorded output and rebuild what differs");
    public static Option<bool> DryRun() => Switch("dry-run", "list what would run and why, and write nothing (no cache/, lock, manifest or figure)");

    /// <summary>A stage, by name in any case (canonical once parsed).</summary>
    public static Option<string?> Stage(string name, string description, bool required = false)
    {
        var option = Text(name, "STAGE", description, s => Stages.Canonical(s, name), Stages.StageNames);
        option.Required = required;
        return option;
    }

    /// <summary>A switch: <c>--name</c>, or <c>--name=true|false</c>.</summary>
    public static Option<bool> Switch(string name, string description) => new($"--{name}")
    {
        Description = description,
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = r => r.Tokens.Count == 0 || bool.Parse(r.Tokens[^1].Value), // the parser gives a switch only true or false
    };

    /// <summary>An option with one text value, checked by <paramref name="check"/> (which throws with the message).</summary>
    public static Option<string?> Text(string name, string helpName, string description, Func<string, string>? check = null, IReadOnlyList<string>? completions = null) =>
        Single<string?>(name, helpName, description, r => Checked(r, check ?? (s => s), r.Tokens[^1].Value), completions);

    /// <summary>An option with one value, read by <paramref name="parse"/> (which throws with the message).</summary>
    public static Option<T?> Parsed<T>(string name, string helpName, string description, Func<string, T> parse) where T : struct =>
        Single(name, helpName, description, r => Checked<T?>(r, s => parse(s), r.Tokens[^1].Value));

    private static Option<T> Single<T>(string name, string helpName, string description, Func<ArgumentResult, T?> parser, IReadOnlyList<string>? completions = null)
    {
        var option = new Option<T>($"--{name}")
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore, // given twice, the last counts
            CustomParser = parser!,
        };
        if (completions is not null) option.CompletionSources.Add([.. completions]);
        return option;
    }

    /// <summary>A repeatable option whose values may also be comma-separated; each one is checked by <paramref name="check"/>.</summary>
    public static Option<string[]> List(string name, string helpName, string description, Func<string, string>? check = null, IReadOnlyList<string>? completions = null)
    {
        var option = new Option<string[]>($"--{name}")
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            DefaultValueFactory = _ => [],
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Select(v => Checked(r, check ?? (s => s), v) ?? "")],
        };
        if (completions is not null) option.CompletionSources.Add([.. completions]);
        return option;
    }

    private static T? Checked<T>(ArgumentResult result, Func<string, T> parse, string text)
    {
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            result.AddError(e.Message);
            return default;
        }
    }

    /// <summary>The text given for <paramref name="option"/> (the last, if given twice), or null.</summary>
    public static string? Given(ParseResult parse, Option option) =>
        parse.GetResult(option) is { Tokens: [.., var last] } ? last.Value : null;
}
