using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Pipeline;

namespace Tta.Archive;

public static partial class FigureCheck
{
    /// <summary>
    /// The study's figures (<see cref="StudyFiguresUnit"/>), regenerated from the archived files they read (the study
    /// kinds' files, and the similarity maps of the difference maps) and compared byte for byte; the count compared.
    /// </summary>
    private static int VerifyStudy(ArchiveMembers members, Experiment experiment, Workspace ws, RunContext context, string temp,
        List<string> problems, List<string> notRegenerated, TextWriter log)
    {
        var unit = new StudyFiguresUnit(ws, experiment, members.Options.Kinds);
        if (!unit.Wanted) return 0;
        var prefix = $"figures/{experiment.Name}/{StudyFiguresUnit.Folder}/";
        if (OtherCode(members, ws, unit, FiguresStage.CodeVersion) is { } other)
        {
            notRegenerated.Add($"figures of {unit.Key}: drawn by {other}, this tta draws {FiguresStage.CodeVersion}");
            log.WriteLine($"figures of {unit.Key} were drawn by {other} and this tta draws {FiguresStage.CodeVersion}: checksummed, not regenerated");
            return 0;
        }
        var missing = false;
        foreach (var kind in unit.Kinds)
            foreach (var (input, file) in kind.FigureInputs(ws, experiment))
            {
                var path = Path.Combine(Path.GetDirectoryName(input.ManifestPath)!, file);
                var member = "cache/" + Path.GetRelativePath(ws.CacheDir, path).Replace('\\', '/');
                if (!members.TryGetValue(member, out var entry))
                {
                    problems.Add($"{member}: missing from the archive, so the figures of {unit.Key} cannot be regenerated");
                    missing = true;
                    continue;
                }
                try
                {
                    ArchiveMembers.Extract(entry, path, temp);
                }
                catch (InvalidDataException ex)
                {
                    problems.Add($"{member}: cannot be read from the zip ({ex.Message})");
                    missing = true;
                }
            }
        if (missing) return 0;
        IReadOnlyList<string> regenerated;
        try
        {
            regenerated = unit.Run(context);
        }
        catch (Exception ex) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
        {
            problems.Add($"figures of {unit.Key} could not be regenerated from the archived study files ({ex.Message})");
            return 0;
        }
        var archived = members.Where(x => x.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(x => x.Key, x => x.Value, StringComparer.Ordinal);
        return ArchiveMembers.CompareRebuilt(regenerated.Select(path => (prefix + Path.GetRelativePath(unit.OutputDir, path).Replace('\\', '/'), path)),
            archived, problems, ("regenerated from the study's files but missing from the archive",
                "differs from the figure regenerated from the study's files",
                $"not produced when regenerating the figures of {unit.Key}"));
    }
}
