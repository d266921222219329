using System.CommandLine;

namespace Tta.Cli.Verbs;

/// <summary>validate: checks the experiment files (and every option value) and says what each describes.</summary>
internal sealed class ValidateVerb : Verb
{
    private readonly RunInputOptions inputs;

    public ValidateVerb() : base("validate", "check experiment files") => inputs = new RunInputOptions(Command);

    protected override int Run(ParseResult p, Writers io)
    {
        var c = RunInputOptions.Context(inputs.Check(p, Root(p), Kinds), io);
        foreach (var e in c.Experiments)
            io.Out.WriteLine($"ok: {c.Workspace.Relative(e.SourcePath)} — experiment '{e.Name}', {e.Models.Count} model(s), {e.Texts.Count} text(s)");
        return 0;
    }
}
