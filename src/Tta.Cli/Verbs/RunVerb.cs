using Tta.Pipeline;
using System.CommandLine;
using System.Runtime.InteropServices;
using Tta.Build;
using Tta.Cache;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>
/// run --stage=STAGE [--through=LAST]: the stale units of STAGE (through LAST, one process: a unit starts as soon
/// as what it reads is built), side by side (--jobs), here or on Slurm (--executor); run --unit=ID: exactly that
/// unit (repeatable or comma-separated: exactly those units, in one process, a model they share loaded once; a
/// failing one does not stop the others, as a Slurm task's group needs). With --journal=FILE, records which stages ran (for Cake's summary).
/// </summary>
internal sealed class RunVerb : StageVerb
{
    private readonly Option<string?> stage = CliOptions.Stage("stage", "the (first) stage to run");
    private readonly Option<string[]> unit = CliOptions.List("unit", "ID", "run exactly these units, by id (repeatable, or comma-separated; tta-cli units lists them; each if stale, or with --force)");
    private readonly Option<string?> through = CliOptions.Stage("through", "the last stage: every stale stage from --stage through it, in one process");
    private readonly Option<string?> journal = CliOptions.Text("journal", "FILE", "the file Cake's stage tasks read their criteria from");
    private readonly Option<bool> dryRun = CliOptions.DryRun();

    public RunVerb() : base("run", "run the stale units of a stage (--jobs side by side), or exactly the units given (--unit)")
    {
        foreach (var option in new Option[] { stage, unit, through, journal, dryRun }) Add(option);
        Command.Validators.Add(r =>
        {
            if (r.GetResult(stage) is null && r.GetResult(unit) is not { Tokens.Count: > 0 }) r.AddError("--stage=… is required");
        });
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var checkedInputs = CheckInputs(p);
        var ids = p.GetValue(unit)!;
        var first = Stages.Order(ids.Length == 0 ? p.GetValue(stage)! : Stages.StageNames[0]);
        var last = p.GetValue(through) is { } t ? Math.Max(first, Stages.Order(t)) : first;
        var stages = Stages.StageNames.Skip(first).Take(last - first + 1).ToList();
        if (p.GetValue(dryRun)) return Staleness.DryRun(p, checkedInputs, stages, io);
        using var c = RunInputOptions.Context(checkedInputs, io);
        if (ids.Length > 0)
        {
            PipelineRun.RunUnits(ids, c, Staleness.RunOptions(p));
            return 0;
        }
        var slurm = Slurm(checkedInputs.Settings, c);
        var journalPath = p.GetValue(journal);
        var tracker = new RunTracker
        {
            StageFinished = journalPath is null ? null : (stage, ran) => RunJournal.Record(journalPath, stage, RunJournal.StageState.Finished, ran),
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
            PipelineRun.Run(stages, c, Staleness.RunOptions(p) with { Tracker = tracker }, slurm, cancel.Token);
            if (journalPath is not null)
                foreach (var stage in stages) RunJournal.Record(journalPath, stage, RunJournal.StageState.Finished);
        }
        catch (Exception) when (journalPath is not null)
        {
            if ((tracker.FailedStage ?? stages.FirstOrDefault(s => RunJournal.Read(journalPath)[s].State == RunJournal.StageState.Waiting)) is { } failed)
                RunJournal.Record(journalPath, failed, RunJournal.StageState.Failed);
            throw;
        }
        finally
        {
            foreach (var registration in signals) registration.Dispose();
        }
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
            GroupSize = settings.GroupSize,
        };
    }
}
