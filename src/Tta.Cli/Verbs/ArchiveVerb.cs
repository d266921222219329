using System.CommandLine;
using Tta.Archive;

namespace Tta.Cli.Verbs;

/// <summary>
/// archive [--experiment=…] [--out=DIR]: zips each experiment's results (default DIR: figures/archives). It takes the
/// run's options too, as Cake passes them to every verb that reads experiments.
/// </summary>
internal sealed class ArchiveVerb : StageVerb
{
    private readonly Option<string?> output = CliOptions.Text("out", "DIR", "the folder the archives go to (default figures/archives)");
    private readonly Option<bool> dryRun = CliOptions.DryRun();

    public ArchiveVerb() : base("archive", "zip each experiment's results (default folder: figures/archives)")
    {
        Add(output);
        Add(dryRun);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var checkedInputs = CheckInputs(p);
        var ws = checkedInputs.Workspace;
        var outDir = p.GetValue(output) is { } dir ? Path.GetFullPath(dir, ws.Root) : ExperimentArchive.DefaultDirectory(ws);
        if (p.GetValue(dryRun))
        {
            foreach (var e in checkedInputs.Experiments) io.Out.WriteLine($"dry run: would archive '{e.Name}' into {ws.Relative(outDir)}/");
            return 0;
        }
        var c = RunInputOptions.Context(checkedInputs, io);
        foreach (var e in c.Experiments)
            io.Out.WriteLine($"archived '{e.Name}': {c.Workspace.Relative(ExperimentArchive.Create(c.Workspace, e, outDir, io.Out, kinds: checkedInputs.Kinds))}");
        return 0;
    }
}
