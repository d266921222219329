using System.CommandLine;
using Tta.Archive;

namespace Tta.Cli.Verbs;

/// <summary>
/// verify --archive=FILE.zip: checks an archive's checksums and regenerates its figures. Exit 0 when everything was
/// proven, 1 on a problem, <see cref="TtaCli.NotRegenerated"/> when checksums match but some units were made by other
/// code than this tta's and were not regenerated.
/// </summary>
internal sealed class VerifyVerb : Verb
{
    private readonly Option<string?> archive = CliOptions.Text("archive", "FILE.zip", "the archive to check");

    public VerifyVerb() : base("verify", "check an archive's checksums and regenerate its figures")
    {
        archive.Required = true;
        Add(archive);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var path = Path.GetFullPath(p.GetValue(archive)!, Root(p));
        if (!File.Exists(path)) throw new FileNotFoundException($"archive not found: {path}");
        var report = ArchiveVerifier.Verify(path, io.Out, new VerifyOptions(Kinds));
        foreach (var problem in report.Problems) io.Error.WriteLine($"FAILED {problem}");
        foreach (var n in report.NotRegenerated) io.Error.WriteLine($"NOT REGENERATED {n}");
        if (!report.Ok)
        {
            io.Out.WriteLine($"{Path.GetFileName(path)}: {report.Problems.Count} problem(s)");
            return 1;
        }
        var checkedText = $"{report.MembersChecked} members match their checksums, {report.FiguresCompared} regenerated figure file(s) are identical";
        if (report.Complete)
        {
            io.Out.WriteLine($"ok: {Path.GetFileName(path)} — {checkedText}");
            return 0;
        }
        // Checksums prove the members are the ones archived, not that the figures follow from the data: say what
        // was left unproven and which tta can prove it.
        io.Out.WriteLine($"incomplete: {Path.GetFileName(path)} — {checkedText}; {report.NotRegenerated.Count} unit(s) were made by other code than this tta's and were not regenerated. "
            + (report.MadeBy is { } commit
                ? $"Verify with the tta the run manifest records (git checkout {commit}, then ./build.sh --target=Verify --archive=…)"
                : "The run manifest records no git commit; verify with the tta release that made the archive"));
        return TtaCli.NotRegenerated;
    }
}
