using Tta.Pipeline;
using System.CommandLine;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>status --stage=STAGE: exit 0 when every unit of the stage is up to date, <see cref="TtaCli.Stale"/> when one is stale.</summary>
internal sealed class StatusVerb : Verb
{
    private readonly Option<string?> stage;
    private readonly RunInputOptions inputs;
    private readonly StalenessOptions staleness;

    public StatusVerb() : base("status", "exit 0 when the stage is up to date, 3 when it is stale")
    {
        stage = Add(CliOptions.Stage("stage", "the stage", required: true));
        inputs = new RunInputOptions(Command);
        staleness = new StalenessOptions(Command);
    }

    protected override bool ExplainsHashes(ParseResult p) => staleness.Explain(p);

    protected override int Run(ParseResult p, Writers io)
    {
        var name = p.GetValue(stage)!;
        var c = RunInputOptions.Context(inputs.Check(p, Root(p), Kinds, staleness.ForcedStages(p)), io);
        var statuses = Stages.Check(name, c, staleness.Forced(p, name), staleness.Verify(p));
        staleness.WriteStatuses(p, name, statuses, io);
        staleness.WriteOrphans(p, c, io);
        return statuses.All(s => s.UpToDate) ? 0 : TtaCli.Stale;
    }
}
