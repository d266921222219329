using System.CommandLine;
using Tta.Cache;
using Tta.Config;
using Tta.Execution;

namespace Tta.Cli.Verbs;

/// <summary>
/// clean [--orphans]: deletes what tta wrote in the cache and figures folders (only folders tta created); with
/// --orphans, only the results no experiment describes any more.
/// </summary>
internal sealed class CleanVerb : Verb
{
    private readonly Option<string?> cache = CliOptions.Cache();
    private readonly Option<string?> figures = CliOptions.Figures();
    private readonly Option<string[]> experiments = CliOptions.Experiments();
    private readonly Option<bool> orphans = CliOptions.Switch("orphans", "remove only results no experiment describes any more (renamed or removed texts, models, experiments); the experiments given count as described");

    public CleanVerb() : base("clean", "delete what tta wrote in cache/ and figures/ (--orphans: only what no experiment describes)")
    {
        foreach (var option in new Option[] { cache, figures, experiments, orphans }) Add(option);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var ws = Workspace.At(Root(p), p.GetValue(cache), p.GetValue(figures));
        // --orphans: only what no experiment describes any more; the experiments given (if any) count as described.
        var onlyOrphans = p.GetValue(orphans);
        var given = p.GetValue(experiments)!;
        var described = onlyOrphans && given.Length > 0
            ? ExperimentPaths.Resolve(given, ws.Root).Select(path => ExperimentLoader.Load(path, Kinds.Settings)).ToList()
            : [];
        var report = WorkspaceCleaner.Clean(ws, null, io.Out, onlyOrphans ? () => OrphanUnits.Files(ws, described) : null);
        io.Out.WriteLine(onlyOrphans
            ? $"removed {report.FilesRemoved} file(s) of results no experiment describes any more; current results stay"
            : $"removed {report.FilesRemoved} file(s) that tta wrote in {ws.Relative(ws.CacheDir)}/ and {ws.Relative(ws.FiguresDir)}/");
        if (report.Kept.Count > 0)
            io.Out.WriteLine($"kept {report.Kept.Count} file(s) that tta did not write (delete them yourself if you do not need them): " +
                             string.Join(", ", report.Kept.Take(10).Select(ws.Relative)) + (report.Kept.Count > 10 ? ", …" : ""));
        return 0;
    }
}
