using System.Globalization;
using System.Text.Json;
using Parquet;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Extract;
using Tta.Models;
using Tta.Tokenizers;

namespace Tta.Metrics;

/// <summary>Common shape of the metric units: one output file and its manifest beside it, reading the Extract store.</summary>
public abstract class MetricsUnitBase(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text, string kind) : StageUnit
{
    protected Workspace Ws => ws;
    protected Experiment Experiment => experiment;
    protected ModelSpec Model => model;
    protected TextSpec Text => text;
    public override string Stage => MetricsStage.Name;
    public string OutputPath => Path.Combine(MetricsStage.Dir(ws, experiment, model, text), kind + ".parquet");
    protected ExtractUnit Upstream => ExtractStage.For(ws, experiment, model, text);
    protected string UnitName => $"{experiment.Name}/{model.Key}/{text.Key}";

    /// <summary>Metrics compute with libtorch (see <see cref="UnitResources.Torch"/>); a kind computing without it says so.</summary>
    public override UnitResources Resources(RunContext context) => UnitResources.SmallTorch;

    /// <summary>Optional metrics are units <c>exp/model/text/kind</c> with <c>kind.manifest.json</c> beside the output.</summary>
    public override string Key => $"{UnitName}/{kind}";
    public override string ManifestPath => Path.Combine(Path.GetDirectoryName(OutputPath)!, kind + ".manifest.json");

    /// <summary>
    /// The declaration of a kind that is only on or off and reads the stored hidden states (norm, trajectory,
    /// projection): <paramref name="codeVersion"/>, the activations, the param <c>metrics.KIND</c> and the output file.
    /// </summary>
    protected UnitDeclaration SwitchOnActivations(string codeVersion) =>
        new UnitDeclaration(codeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Param($"metrics.{kind}", Experiment.Metrics.Has(kind))
            .Writes(OutputPath);

    /// <summary>Runs <paramref name="write"/> (async Parquet I/O) to its end; returns the output file.</summary>
    protected IReadOnlyList<string> WriteOutput(Func<Task> write)
    {
        MetricsStage.Sync(write);
        return [OutputPath];
    }

    /// <summary>As <see cref="WriteOutput(Func{Task})"/>, given the unit's fingerprint (which its file's metadata records).</summary>
    protected IReadOnlyList<string> WriteOutput(Func<string, Task> write)
    {
        var fingerprint = Fingerprint().Value;
        return WriteOutput(() => write(fingerprint));
    }
}
