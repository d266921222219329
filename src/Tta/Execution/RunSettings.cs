using System.Globalization;
using Tta.Config;
using Tta.Execution.Slurm;

namespace Tta.Execution;

/// <summary>
/// The run's options with values (--jobs, --memory-limit, --executor and the Slurm ones), parsed and checked whenever
/// experiments are read, so a bad value is an error whatever the cache holds, not only when something is stale.
/// </summary>
public sealed record RunSettings(int Jobs, long? MemoryLimitBytes, string Executor, SlurmOptions? Slurm, TimeSpan? PollInterval, int? GroupSize = null)
{
    /// <param name="option">an option's value by name (null when not given).</param>
    /// <param name="experiments">the run's experiments: their <c>executor:</c> blocks are the defaults.</param>
    public static RunSettings Check(Func<string, string?> option, IReadOnlyList<Experiment> experiments)
    {
        var jobs = option("jobs") is { } j ? ParseJobs(j) : Environment.ProcessorCount;
        var memory = option("memory-limit") is { } limit ? ParseBytes(limit) : (long?)null;

        var blocks = experiments.Where(e => e.Executor is not null).Select(e => e.Executor!).ToList();
        // A field the command line gives is the run's whatever the blocks say, so only the others must agree.
        object? Unless(string name, object? value) => option(name) is null ? value : null;
        if (blocks.Select(b => (Unless("executor", b.Kind), Unless("partition", b.Partition), Unless("account", b.Account), Unless("time", b.Time),
                Unless("group-size", b.GroupSize))).Distinct().Count() > 1)
            throw new ConfigException(blocks[1].At!, "the experiments of this run ask for different executor: settings; run them separately, or give --executor, --partition, --account, --time and --group-size on the command line");
        var block = blocks.FirstOrDefault();
        var kind = option("executor") ?? block?.Kind ?? "local";
        CheckExecutor(kind);
        // Slurm's values are checked even when the run stays on this machine: a typo is an error either way.
        var time = option("time") is { } t ? SlurmTimeLimit.Parse(t, "--time") : block?.Time is { } bt ? SlurmTimeLimit.Parse(bt, "executor.time") : (TimeSpan?)null;
        var poll = option("poll-seconds") is { } p ? ParsePollInterval(p) : (TimeSpan?)null;
        var groupSize = option("group-size") is { } g ? ParseGroupSize(g) : block?.GroupSize;
        var slurm = kind == "slurm" ? new SlurmOptions(option("partition") ?? block?.Partition, option("account") ?? block?.Account, time) : null;
        return new RunSettings(jobs, memory, kind, slurm, poll, groupSize);
    }

    /// <summary>--jobs: a whole number of threads, 1 or more.</summary>
    public static int ParseJobs(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : throw new ArgumentException($"--jobs={text}: write a whole number of threads, 1 or more");

    /// <summary>--group-size: a whole number of units per Slurm task, 1 or more.</summary>
    public static int ParseGroupSize(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : throw new ArgumentException($"--group-size={text}: write a whole number of units per Slurm task, 1 or more");

    /// <summary>--poll-seconds: from 0.1 to 60 seconds.</summary>
    public static TimeSpan ParsePollInterval(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0.1 and <= 60
            ? TimeSpan.FromSeconds(seconds)
            // At most a minute: Slurm forgets ended jobs after MinJobAge (300 s by default), and a task it forgot is lost.
            : throw new ArgumentException($"--poll-seconds={text}: write the seconds between squeue polls, from 0.1 to 60 (default 5)");

    /// <summary>--executor: one of <see cref="ExperimentLoader.ExecutorKinds"/>.</summary>
    public static string CheckExecutor(string kind) => ExperimentLoader.ExecutorKinds.Contains(kind)
        ? kind
        : throw new ArgumentException($"--executor={kind}: use one of {string.Join(", ", ExperimentLoader.ExecutorKinds)}");

    /// <summary>Bytes from "123", "512M", "16G".</summary>
    public static long ParseBytes(string text)
    {
        var t = text.Trim().ToUpperInvariant().TrimEnd('B', 'I');
        var scale = t.EndsWith('K') ? 1L << 10 : t.EndsWith('M') ? 1L << 20 : t.EndsWith('G') ? 1L << 30 : t.EndsWith('T') ? 1L << 40 : 1;
        var number = scale == 1 ? t : t[..^1];
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? (long)(n * scale)
            : throw new ArgumentException($"--memory-limit={text}: write a size such as 16G or 512M");
    }
}
