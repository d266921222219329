using System.CommandLine;
using Tta.Cache;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>units [--stage=STAGE]: every unit id of the run (what run --unit takes), with its status.</summary>
internal sealed class UnitsVerb : Verb
{
    private readonly Option<string?> stage;
    private readonly RunInputOptions inputs;

    public UnitsVerb() : base("units", "list the run's unit ids and whether each is up to date")
    {
        stage = Add(CliOptions.Stage("stage", "only the units of this stage"));
        inputs = new RunInputOptions(Command);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        using var c = RunInputOptions.Context(inputs.Check(p, Root(p), Kinds), io);
        var graph = UnitGraph.For(c);
        var only = p.GetValue(stage);
        foreach (var unit in graph.Units.Where(u => only is null || u.Stage == only))
        {
            var status = StageRunner.Check(unit, c.Workspace, hashLog: c.HashLog);
            io.Out.WriteLine($"{unit.Id}\t{(status.UpToDate ? "up to date" : "stale")}");
        }
        return 0;
    }
}
