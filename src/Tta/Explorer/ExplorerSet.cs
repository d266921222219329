using Tta.Pipeline;

namespace Tta.Explorer;

/// <summary>
/// The views of one model × text that the explorer page shows, filled by the metric kinds that have one
/// (<see cref="Metrics.IMetricKind.Explore"/>), in registry order: similarity first (its file's metadata gives the
/// tokens the others are read against).
/// </summary>
public sealed class ExplorerSet
{
    private readonly ExplorerBuilder? builder;

    internal ExplorerSet(ExplorerBuilder? builder) => this.builder = builder;

    /// <summary>A set that reads nothing: a kind's <c>Explore</c> on it only says whether the kind has a view.</summary>
    public static ExplorerSet Probe { get; } = new(null);

    public IReadOnlyDictionary<string, string>? Metadata { get; private set; }
    public List<SimilarityEntry> Similarity { get; } = [];
    public List<AttentionEntry> Attention { get; } = [];
    public List<ProjectionEntry> Projection { get; } = [];
    public Dictionary<string, NearestEntry>? Nearest { get; private set; }

    /// <summary>The layer-slider maps of similarity.parquet.</summary>
    public void AddSimilarity(string parquet)
    {
        if (builder is not null) Metadata = builder.Similarity(parquet, Similarity);
    }

    /// <summary>The heads × panels grids and kernels of attention.parquet.</summary>
    public void AddAttention(string parquet) => builder?.Attention(parquet, Attention);

    /// <summary>The trajectory view's PCA paths of projection.parquet.</summary>
    public void AddProjection(string parquet)
    {
        if (builder is not null) ExplorerBuilder.Projection(parquet, Projection);
    }

    /// <summary>The nearest tokens on the trajectory view's hover (vocabulary strings read as the text's tokens are).</summary>
    public void AddNearest(string parquet)
    {
        if (builder is null) return;
        var tokens = ExplorerBuilder.TokensOf(Metadata ?? throw new InvalidOperationException("nearest tokens are read after the similarity maps"));
        Nearest = ExplorerBuilder.Nearest(parquet, Figures.TokenLabels.IsByteLevel(tokens));
    }
}
