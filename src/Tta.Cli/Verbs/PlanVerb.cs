using Tta.Pipeline;
using System.CommandLine;
using Tta.Build;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>
/// plan --journal=FILE --through=STAGE [options]: what Cake's Setup calls once. Checks the experiments, then records
/// in the journal which stages up to STAGE have stale units (the stage tasks' criteria read it: one process instead
/// of one per stage). Exit 2 on bad input.
/// </summary>
internal sealed class PlanVerb : StageVerb
{
    private readonly Option<string?> journal = CliOptions.Text("journal", "FILE", "the file Cake's stage tasks read their criteria from");
    private readonly Option<string?> through = CliOptions.Stage("through", "the last stage", required: true);
    private readonly Option<bool> dryRun = CliOptions.DryRun();

    public PlanVerb() : base("plan", "record in the run journal which stages through --through have stale units (Cake's Setup)")
    {
        journal.Required = true;
        Add(journal);
        Add(through);
        Add(dryRun);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var checkedInputs = CheckInputs(p);
        var stages = Stages.StageNames.Take(Stages.Order(p.GetValue(through)!) + 1).ToList();
        var plan = new RunJournal();
        if (p.GetValue(dryRun))
        {
            plan.Write(p.GetValue(journal)!); // no stage stale: Cake's stage tasks run nothing
            return Staleness.DryRun(p, checkedInputs, stages, io);
        }
        using var c = RunInputOptions.Context(checkedInputs, io);
        foreach (var stage in stages)
        {
            var statuses = Stages.Check(stage, c, Staleness.Forced(p, stage), Staleness.Verify(p));
            var entry = plan[stage];
            entry.Units = statuses.Count;
            entry.StaleUnits = statuses.Count(s => !s.UpToDate);
            entry.Stale = entry.StaleUnits > 0;
            Staleness.WriteStatuses(p, stage, statuses, io);
        }
        Staleness.WriteOrphans(p, c, io);
        plan.Write(p.GetValue(journal)!);
        return 0;
    }
}
