namespace Tta.Store;

/// <summary>
/// The key-value metadata keys of tta's Parquet files (the footer's <c>key_value_metadata</c>), written by Extract and
/// the metrics units and read by the figures and the explorer. The names are part of the file format: changing one
/// changes the files' bytes.
/// </summary>
public static class StoreKeys
{
    /// <summary>What the file holds and its version: <c>activations/1</c>, <c>attention-inputs/1</c>, <c>similarity/1</c>, ….</summary>
    public const string Format = "tta.format";

    /// <summary>The fingerprint of the unit that wrote the file.</summary>
    public const string Fingerprint = "tta.fingerprint";

    public const string Experiment = "tta.experiment";

    /// <summary>The model's id (Hub repository, NuGet package or local name).</summary>
    public const string Model = "tta.model";

    /// <summary>The model's key in the experiment.</summary>
    public const string ModelKey = "tta.model_key";

    /// <summary>The revision the experiment asks for, and the commit it resolved to.</summary>
    public const string Revision = "tta.revision";

    public const string RevisionSha = "tta.revision_sha";

    /// <summary>The dtype the model's weights were loaded in (the experiment's <c>dtype:</c>).</summary>
    public const string DType = "tta.dtype";

    /// <summary>
    /// The dtype the model computed in, present only where it differs from <see cref="DType"/> (bfloat16 weights
    /// computed in float32); absent, the model computed in <see cref="DType"/>. Read it with <see cref="ComputeDTypeOf"/>.
    /// </summary>
    public const string ComputeDType = "tta.compute_dtype";

    /// <summary>The dtype a store's model computed in: <see cref="ComputeDType"/>, else <see cref="DType"/> (null when neither is there).</summary>
    public static string? ComputeDTypeOf(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(ComputeDType, out var compute) ? compute : metadata.GetValueOrDefault(DType);

    /// <summary>The text's key in the experiment.</summary>
    public const string Text = "tta.text";

    /// <summary>The text's tokens and their ids (JSON arrays).</summary>
    public const string Tokens = "tta.tokens";

    public const string TokenIds = "tta.token_ids";

    /// <summary>What each point of the file is (<see cref="StoredPoints"/>).</summary>
    public const string Points = "tta.points";

    /// <summary>Attention inputs: the model's <c>model_type</c>, its stacks (JSON) and its config.json.</summary>
    public const string ModelType = "tta.model_type";

    public const string Stacks = "tta.stacks";

    public const string Config = "tta.config";

    /// <summary>Attention metrics: the rows of each kernel (JSON).</summary>
    public const string KernelRows = "tta.kernel_rows";

    /// <summary>Trajectory and norm metrics: the layers of each series (JSON).</summary>
    public const string Layers = "tta.layers";

    /// <summary>Trajectory projection: each series' fit (JSON).</summary>
    public const string Projection = "tta.projection";

    /// <summary>Nearest tokens: how many neighbours are kept.</summary>
    public const string K = "tta.k";

    /// <summary>Study files: how many texts of the corpus they were computed over.</summary>
    public const string CorpusTexts = "tta.corpus_texts";

    /// <summary>Study files: the model keys they compare, a JSON array (one for statistics and within-model CKA, two for a pair).</summary>
    public const string Models = "tta.models";

    /// <summary>Study files: per series, the layer count that relative depth divides by (hidden state N of L is at depth N / L), a JSON object.</summary>
    public const string DepthLayers = "tta.depth_layers";

    /// <summary>CKA files: how the two models' rows were paired (<c>tokens</c>, <c>words</c>), and the rule, in words.</summary>
    public const string Alignment = "tta.alignment";
}
