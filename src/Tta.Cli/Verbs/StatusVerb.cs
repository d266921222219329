using Tta.Pipeline;
using System.CommandLine;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>status --stage=STAGE: exit 0 when every unit of the stage is up to date, <see cref="TtaCli.Stale"/> when one is stale.</summary>
internal sealed class StatusVerb : StageVerb
{
    private readonly Option<string?> stage;

    public StatusVerb() : base("status", "exit 0 when the stage is up to date, 3 when it is stale")
    {
        stage = Add(CliOptions.Stage("stage", "the stage", required: true));
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var name = p.GetValue(stage)!;
        var c = RunInputOptions.Context(CheckInputs(p), io);
        var statuses = Stages.Check(name, c, Staleness.Forced(p, name), Staleness.Verify(p));
        Staleness.WriteStatuses(p, name, statuses, io);
        Staleness.WriteOrphans(p, c, io);
        return statuses.All(s => s.UpToDate) ? 0 : TtaCli.Stale;
    }
}
