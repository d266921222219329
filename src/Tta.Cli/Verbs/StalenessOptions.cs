using Tta.Pipeline;
using Tta.Core;
using System.CommandLine;
using Tta.Cache;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>What decides and explains which units are stale: --force, --force-stage, --explain and --verify.</summary>
internal sealed class StalenessOptions
{
    private readonly Option<bool> force = CliOptions.Force();
    private readonly Option<string[]> forceStages = CliOptions.ForceStages();
    private readonly Option<bool> explain = CliOptions.Explain();
    private readonly Option<bool> verify = CliOptions.Verify();

    public StalenessOptions(Command command)
    {
        foreach (var option in new Option[] { force, forceStages, explain, verify }) command.Options.Add(option);
    }

    public IReadOnlyList<string> ForcedStages(ParseResult p) => p.GetValue(forceStages)!;

    public bool Forced(ParseResult p, string stage) => p.GetValue(force) || ForcedStages(p).Contains(stage);

    public bool Explain(ParseResult p) => p.GetValue(explain);

    public bool Verify(ParseResult p) => p.GetValue(verify);

    public RunOptions RunOptions(ParseResult p) => new(u => Forced(p, u.Stage), Explain(p), Verify(p));

    /// <summary>Each unit's line, with --explain or --verify.</summary>
    public void WriteStatuses(ParseResult p, string stage, IReadOnlyList<UnitStatus> statuses, Writers io)
    {
        if (Explain(p) || Verify(p))
            foreach (var s in statuses)
                io.Out.WriteLine(Describe(stage, s, "stale"));
    }

    /// <summary>
    /// --dry-run: what a run of <paramref name="stages"/> would build and why (the --explain reasons), written nowhere
    /// but the output: no lock, no folder, no manifest.
    /// </summary>
    public int DryRun(ParseResult p, RunInputs inputs, IEnumerable<string> stages, Writers io)
    {
        if (Verify(p)) throw new ArgumentException("--dry-run with --verify: verifying marks what differs, which writes; run --verify without --dry-run");
        using var c = inputs.Kinds.AttachTo(new RunContext(inputs.Workspace, inputs.Experiments, io.Out) { HashLog = io.Explain ? new HashLogWriter(io.Out) : null });
        var wouldRun = 0;
        foreach (var stage in stages)
            foreach (var s in Stages.Check(stage, c, Forced(p, stage)))
            {
                if (!s.UpToDate) wouldRun++;
                io.Out.WriteLine(Describe(stage, s, "would run"));
            }
        io.Out.WriteLine($"dry run: {wouldRun} unit(s) would run{(wouldRun > 0 ? " (units that read them are checked again once they are rebuilt)" : "")}; nothing was written");
        return 0;
    }

    /// <summary>The folders no experiment describes any more (--explain).</summary>
    public void WriteOrphans(ParseResult p, RunContext c, Writers io)
    {
        if (!Explain(p)) return;
        foreach (var line in OrphanUnits.Explain(c.Workspace, c.Experiments)) io.Out.WriteLine(line);
    }

    /// <summary>One unit's line of --explain (and of --dry-run, whose stale units "would run").</summary>
    private static string Describe(string stage, UnitStatus s, string staleWord) =>
        s.UpToDate ? $"{stage} {s.Unit.Key}: up to date" : $"{stage} {s.Unit.Key}: {staleWord} — {string.Join("; ", s.Reasons)}";
}
