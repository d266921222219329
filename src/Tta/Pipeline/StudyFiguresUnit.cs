using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Pipeline;

/// <summary>
/// The figures of an experiment's study kinds (<see cref="IStudyKind"/>: layer statistics, CKA), in
/// <c>figures/EXPERIMENT/study/</c>, rendered from their units' files, with what each shows recorded in the manifest's
/// facts as <see cref="FiguresUnit"/> does. Made only when a study kind is among <c>figures.kinds</c>.
/// </summary>
public sealed class StudyFiguresUnit(Workspace ws, Experiment experiment, MetricKinds kinds) : StageUnit
{
    public const string Folder = "study";

    private readonly Dictionary<string, string> records = new(StringComparer.Ordinal);

    public override string Stage => FiguresStage.Name;
    public override string Key => $"{experiment.Name}/study";
    public override string ManifestPath => Path.Combine(ws.CacheDir, "figures", experiment.Name, StudyUnit.Folder, "manifest.json");
    public string OutputDir => Path.Combine(ws.FiguresDir, experiment.Name, Folder);

    /// <summary>The requested study kinds, in registry order.</summary>
    public IReadOnlyList<IStudyKind> Kinds => [.. kinds.Studies.Where(k => experiment.Figures.Kinds.Contains(k.Name))];

    /// <summary>Whether the experiment asks for study figures at all.</summary>
    public bool Wanted => Kinds.Count > 0;

    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(FiguresStage.CodeVersion).Section("figures", experiment.Figures).Writes(OutputDir);
        foreach (var kind in Kinds)
            foreach (var (unit, file) in kind.FigureInputs(ws, experiment))
                declaration.Reads(unit, file);
        return declaration;
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        if (Directory.Exists(OutputDir)) Directory.Delete(OutputDir, recursive: true);
        var figure = new FigureContext(experiment.Name, $"{experiment.Texts.Count} texts", [], experiment.Figures, OutputDir, Thumbnails: true);
        var jobs = new List<FigureJob>();
        records.Clear();
        foreach (var kind in Kinds)
            foreach (var job in kind.Figures(figure, kind.Units(ws, experiment)))
            {
                var record = job.Record ?? throw new InvalidOperationException($"figure {job.Stem} of kind '{kind.Name}' has no record of what it shows");
                if (!records.TryAdd(job.Stem, record.ToJson())) throw new InvalidOperationException($"two figures of {Key} are named {job.Stem}");
                jobs.Add(job);
            }
        return FigureJobs.Run(jobs, context);
    }

    public override IReadOnlyDictionary<string, string>? Facts(IReadOnlyList<OutputRecord> outputs) =>
        new SortedDictionary<string, string>(records, StringComparer.Ordinal);
}
