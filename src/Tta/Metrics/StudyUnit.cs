using Tta.Cache;
using Tta.Config;
using Tta.Core;
using Tta.Extract;

namespace Tta.Metrics;

/// <summary>
/// A Metrics unit over the whole corpus of an experiment (<see cref="IStudyKind"/>): its file
/// <c>cache/metrics/EXPERIMENT/~study/STEM.parquet</c> (<c>~</c> keeps it apart from model keys) with its manifest
/// beside it. It reads every text's activations of the models it studies, so a new text reruns it, and a text
/// whose activations did not change does not.
/// </summary>
public abstract class StudyUnit(Workspace ws, Experiment experiment, string kind, string stem) : StageUnit
{
    public const string Folder = "~study";

    public Workspace Workspace => ws;
    public Experiment Experiment => experiment;
    public string Kind => kind;

    /// <summary>The file's name without extension, e.g. <c>statistics-minilm</c> or <c>cka-minilm-vs-arcticxs</c>.</summary>
    public string Stem => stem;

    /// <summary>The models it studies, in the experiment's order.</summary>
    public abstract IReadOnlyList<ModelSpec> Models { get; }

    public override string Stage => MetricsStage.Name;
    public override string Key => $"{experiment.Name}/study/{stem}";
    public string OutputPath => Path.Combine(Dir(ws, experiment), stem + ".parquet");
    public override string ManifestPath => Path.Combine(Dir(ws, experiment), stem + ".manifest.json");

    public static string Dir(Workspace ws, Experiment e) => Path.Combine(ws.CacheDir, "metrics", e.Name, Folder);

    /// <summary>
    /// Study kinds compute with libtorch (float64 products), entering the run's libtorch gate around that work only, so
    /// their reading of every text overlaps other units' forward passes.
    /// </summary>
    public override UnitResources Resources(RunContext context) => UnitResources.SmallTorchSections;

    /// <summary>
    /// A declaration that reads every text's activations of <see cref="Models"/> (in the experiment's order), with
    /// the texts' keys as a param (the order they are streamed in) and the output file.
    /// </summary>
    protected UnitDeclaration ReadsCorpus(string codeVersion)
    {
        var declaration = new UnitDeclaration(codeVersion)
            .Param("texts", Hashing.Sha256(string.Join("\n", experiment.Texts.Select(t => t.Key))));
        foreach (var m in Models)
            foreach (var t in experiment.Texts)
                declaration.Reads(ExtractStage.For(ws, experiment, m, t), ExtractStage.ActivationsFile);
        return declaration.Writes(OutputPath);
    }

    /// <summary>The stored activations of every text of <paramref name="model"/>, streamed (<see cref="CorpusActivations"/>).</summary>
    protected CorpusActivations Corpus(ModelSpec model) => new(ws, experiment, model);

    /// <summary>
    /// The layer count relative depth divides by for <paramref name="model"/>: its deepest stack's blocks, from the
    /// checkpoint's config (hidden state N of a model with L blocks is at depth N / L, whatever layers were stored).
    /// </summary>
    protected int DepthLayers(ModelSpec model)
    {
        var dir = Tta.Download.DownloadStage.Result(ws, experiment, model).CheckpointDir;
        return Tta.Models.ModelFactory.LayerCount(CheckpointConfigCheck.Load(Path.Combine(dir, "config.json")), dir);
    }

    /// <summary>A study file's metadata: its format, experiment, models, the corpus size and the unit's fingerprint.</summary>
    protected Dictionary<string, string> Metadata(string format, string fingerprint) => new()
    {
        [Store.StoreKeys.Format] = format,
        [Store.StoreKeys.Experiment] = experiment.Name,
        [Store.StoreKeys.Models] = System.Text.Json.JsonSerializer.Serialize(Models.Select(m => m.Key)),
        [Store.StoreKeys.CorpusTexts] = experiment.Texts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [Store.StoreKeys.Fingerprint] = fingerprint,
    };

    /// <summary>Runs <paramref name="write"/> (async Parquet I/O) to its end, given the unit's fingerprint; returns the output file.</summary>
    protected IReadOnlyList<string> WriteOutput(Func<string, Task> write)
    {
        var fingerprint = Fingerprint().Value;
        Directory.CreateDirectory(Path.GetDirectoryName(OutputPath)!);
        MetricsStage.Sync(() => write(fingerprint));
        return [OutputPath];
    }
}
