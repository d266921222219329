using System.CommandLine;
using Tta.Core;
using Tta.Cache;
using Tta.Execution;
using Tta.Metrics;

namespace Tta.Cli.Verbs;

/// <summary>
/// The options of every verb that reads experiments: which experiments, the cache and figures folders, and the run's
/// settings (memory, jobs, executor and Slurm's). All of them are checked before anything is touched.
/// </summary>
internal sealed class RunInputOptions
{
    private readonly Option<string[]> experiments = CliOptions.Experiments();
    private readonly Option[] settings =
    [
        CliOptions.Cache(), CliOptions.Figures(), CliOptions.MemoryLimit(), CliOptions.Jobs(), CliOptions.Executor(),
        CliOptions.Partition(), CliOptions.Account(), CliOptions.Time(), CliOptions.PollSeconds(), CliOptions.GroupSize(),
    ];

    public RunInputOptions(Command command)
    {
        command.Options.Add(experiments);
        foreach (var option in settings) command.Options.Add(option);
    }

    /// <summary>The run's inputs, every one checked (experiments and option values) before anything is touched.</summary>
    /// <param name="forcedStages">--force-stage's values, for the verbs that take it.</param>
    public RunInputs Check(ParseResult p, string root, MetricKinds kinds, IReadOnlyList<string>? forcedStages = null)
    {
        try
        {
            return RunInputs.Check(root, name => CliOptions.Given(p, settings.Single(o => o.Name == $"--{name}")), p.GetValue(experiments)!, forcedStages ?? [], kinds);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException)
        {
            throw new BadInputException(e.Message); // a bad option value or an unreadable experiment file: exit 2, as ./build.sh gives for it
        }
    }

    /// <summary>The run's context: its workspace and experiments, the progress display, and the memory and jobs settings.</summary>
    public static RunContext Context(RunInputs inputs, Writers io)
    {
        // Progress of the running units: a live block on a terminal, plain lines in logs and CI.
        var progress = new ProgressDisplay(io.Out, live: ReferenceEquals(io.Out, Console.Out) && ProgressDisplay.ConsoleIsLive);
        return inputs.Kinds.AttachTo(new RunContext(inputs.Workspace, inputs.Experiments, progress.Log)
        {
            Progress = progress,
            // --explain: each file hashed, with where its hash came from, above the live block like every other line.
            HashLog = io.Explain ? new HashLogWriter(progress.Log) : null,
            MemoryLimitBytes = inputs.Settings.MemoryLimitBytes,
            Jobs = inputs.Settings.Jobs,
        });
    }
}
