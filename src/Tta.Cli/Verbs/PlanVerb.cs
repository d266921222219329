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
internal sealed class PlanVerb : Verb
{
    private readonly Option<string?> journal = CliOptions.Text("journal", "FILE", "the file Cake's stage tasks read their criteria from");
    private readonly Option<string?> through = CliOptions.Stage("through", "the last stage", required: true);
    private readonly Option<bool> dryRun = CliOptions.DryRun();
    private readonly RunInputOptions inputs;
    private readonly StalenessOptions staleness;

    public PlanVerb() : base("plan", "record in the run journal which stages through --through have stale units (Cake's Setup)")
    {
        journal.Required = true;
        Add(journal);
        Add(through);
        Add(dryRun);
        inputs = new RunInputOptions(Command);
        staleness = new StalenessOptions(Command);
    }

    protected override bool ExplainsHashes(ParseResult p) => staleness.Explain(p);

    protected override int Run(ParseResult p, Writers io)
    {
        var checkedInputs = inputs.Check(p, Root(p), Kinds, staleness.ForcedStages(p));
        var stages = Stages.StageNames.Take(Stages.Order(p.GetValue(through)!) + 1).ToList();
        var plan = new RunJournal();
        if (p.GetValue(dryRun))
        {
            plan.Write(p.GetValue(journal)!); // no stage stale: Cake's stage tasks run nothing
            return staleness.DryRun(p, checkedInputs, stages, io);
        }
        using var c = RunInputOptions.Context(checkedInputs, io);
        foreach (var stage in stages)
        {
            var statuses = Stages.Check(stage, c, staleness.Forced(p, stage), staleness.Verify(p));
            var entry = plan[stage];
            entry.Units = statuses.Count;
            entry.StaleUnits = statuses.Count(s => !s.UpToDate);
            entry.Stale = entry.StaleUnits > 0;
            staleness.WriteStatuses(p, stage, statuses, io);
        }
        staleness.WriteOrphans(p, c, io);
        plan.Write(p.GetValue(journal)!);
        return 0;
    }
}
