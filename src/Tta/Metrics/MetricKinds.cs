using Tta.Config;
using Tta.Metrics.Attention;
using Tta.Metrics.Nearest;
using Tta.Metrics.Norm;
using Tta.Metrics.Projection;
using Tta.Metrics.Similarity;
using Tta.Metrics.Trajectory;

namespace Tta.Metrics;

/// <summary>
/// Every metric kind, one line each. The order is the order of the units, of the default <c>figures.kinds</c> and of
/// the explorer's gallery. Adding a kind: its class (an <see cref="IMetricKind"/>, usually with its unit and figure
/// files beside it) and one line here — see README "Extending tta".
/// </summary>
public static class MetricKinds
{
    // Replaced whole (never changed in place) by Register, so readers on other threads see one list or the other.
    private static volatile IMetricKind[] Kinds =
    [
        new SimilarityKind(),
        new AttentionKind(),
        new TrajectoryKind(),
        new NearestKind(),
        new ProjectionKind(),
        new NormKind(),
    ];

    private static readonly Lock Gate = new();

    public static IReadOnlyList<IMetricKind> All => Kinds;

    public static IReadOnlyList<string> Names => [.. Kinds.Select(k => k.Name)];

    /// <summary>The kind named <paramref name="name"/>, or null.</summary>
    public static IMetricKind? Find(string name) => Kinds.FirstOrDefault(k => k.Name == name);

    public static IMetricKind Get(string name) => Find(name) ?? throw new InvalidOperationException($"unknown metric kind '{name}'");

    /// <summary>The kinds an experiment configures, in registry order (similarity always).</summary>
    public static IEnumerable<IMetricKind> Configured(Experiment experiment) => Kinds.Where(k => experiment.Metrics.Has(k.Name));

    /// <summary>
    /// Adds a kind for this process (tests register one of their own to check that a kind needs nothing but its
    /// class and this list). Registering a name twice is an error.
    /// </summary>
    public static void Register(IMetricKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        lock (Gate)
        {
            if (Find(kind.Name) is not null) throw new InvalidOperationException($"metric kind '{kind.Name}' is registered twice");
            Kinds = [.. Kinds, kind];
        }
    }
}
