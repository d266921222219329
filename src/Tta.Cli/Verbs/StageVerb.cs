using System.CommandLine;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>
/// A verb that reads the experiments and decides which units are stale (archive, plan, run, status): the run's inputs
/// (<see cref="RunInputOptions"/>) and the staleness options (<see cref="StalenessOptions"/>), listed in its help after
/// the verb's own options, and --explain, which reports every file hashed.
/// </summary>
internal abstract class StageVerb : Verb
{
    protected StageVerb(string name, string description) : base(name, description)
    {
        Inputs = new RunInputOptions(Command);
        Staleness = new StalenessOptions(Command);
    }

    protected RunInputOptions Inputs { get; }

    protected StalenessOptions Staleness { get; }

    protected override bool ExplainsHashes(ParseResult p) => Staleness.Explain(p);

    /// <summary>The run's inputs, every one checked (--force-stage's stages too) before anything is touched.</summary>
    protected RunInputs CheckInputs(ParseResult p) => Inputs.Check(p, Root(p), Kinds, Staleness.ForcedStages(p));
}
