using System.Globalization;
using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using Tta.Store;
using Tta.Metrics;

namespace Tta.Pipeline;

/// <summary>
/// The figures of one experiment × model × text: every requested kind's figures (<see cref="IMetricKind.Figures"/>),
/// rendered from the metrics file of that kind's unit, with what each figure shows recorded in the manifest's facts
/// (file stem → <see cref="FigureRecord"/>) for the explorer.
/// </summary>
public sealed class FiguresUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text, MetricKinds kinds) : StageUnit
{
    private readonly Dictionary<string, string> records = new(StringComparer.Ordinal);

    public override string Stage => FiguresStage.Name;
    public override string Key => $"{experiment.Name}/{model.Key}/{text.Key}";

    public override string ManifestPath => Path.Combine(ws.CacheDir, "figures", experiment.Name, model.Key, text.Key, "manifest.json");
    private string OutputDir => Path.Combine(ws.FiguresDir, experiment.Name, model.Key, text.Key);

    /// <summary>The requested figure kinds that are per text (a study kind's figures are <see cref="StudyFiguresUnit"/>'s).</summary>
    private IEnumerable<string> PerTextKinds => experiment.Figures.Kinds.Where(k => kinds.Find(k) is not null);

    /// <summary>The metrics unit that a figure kind reads.</summary>
    private MetricsUnitBase Input(string kind) => kinds.Get(kind).Unit(ws, experiment, model, text);

    /// <summary>
    /// The figure settings and the metrics file of every requested kind, so a change to one metric's settings reruns
    /// only the figures (and this unit only when that file's bytes changed).
    /// </summary>
    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(FiguresStage.CodeVersion).Section("figures", experiment.Figures)
            .Param("label_fonts", LabelFonts.NeedsFallback(text.Text) ? LabelFonts.InstalledSignature : "none needed").Writes(OutputDir);
        foreach (var kind in PerTextKinds)
        {
            var input = Input(kind);
            declaration.Reads(input, Path.GetFileName(input.OutputPath));
        }
        return declaration;
    }

    /// <summary>
    /// Every figure of every requested kind, rendered side by side on <see cref="RunContext.Jobs"/> threads, each PNG
    /// with its thumbnail for the explorer (<see cref="Thumbnails"/>, in <c>~thumbs/</c>), made from the same raster.
    /// </summary>
    public override IReadOnlyList<string> Run(RunContext context)
    {
        var f = experiment.Figures;
        // Files of an earlier run of this unit that this run will not rewrite (e.g. a removed format) go away.
        if (Directory.Exists(OutputDir)) Directory.Delete(OutputDir, recursive: true);
        var jobs = new List<FigureJob>();
        records.Clear();
        foreach (var kind in PerTextKinds)
        {
            var input = Input(kind).OutputPath;
            var metadata = Task.Run(() => VectorStoreReader.ReadMetadataAsync(input)).GetAwaiter().GetResult();
            var tokens = metadata.TryGetValue(StoreKeys.Tokens, out var json) ? JsonSerializer.Deserialize<string[]>(json) ?? [] : [];
            var figure = new FigureContext(model.Key, text.Key, tokens, f, OutputDir, StoreKeys.ComputeDTypeOf(metadata), Thumbnails: true);
            foreach (var job in kinds.Get(kind).Figures(figure, input))
            {
                var record = job.Record ?? throw new InvalidOperationException($"figure {job.Stem} of kind '{kind}' has no record of what it shows");
                if (!records.TryAdd(job.Stem, record.ToJson()))
                    throw new InvalidOperationException($"two figures of {Key} are named {job.Stem}");
                jobs.Add(job);
            }
        }
        return FigureJobs.Run(jobs, context);
    }

    /// <summary>What each figure shows, by file stem (<see cref="FigureRecord"/> as JSON), as the last run rendered them.</summary>
    public override IReadOnlyDictionary<string, string>? Facts(IReadOnlyList<OutputRecord> outputs) =>
        new SortedDictionary<string, string>(records, StringComparer.Ordinal);

    /// <summary>The recorded figures of a built unit's manifest (facts written by <see cref="Facts"/>), by file stem.</summary>
    public static IReadOnlyDictionary<string, FigureRecord> Records(UnitManifest manifest) =>
        (manifest.Facts ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => FigureRecord.FromJson(kv.Value)
            ?? throw new InvalidDataException($"figure {kv.Key} of {manifest.Unit}: its record is empty"), StringComparer.Ordinal);
}
