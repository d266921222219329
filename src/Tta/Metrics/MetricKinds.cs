using System.Collections;
using Tta.Cache;
using Tta.Config;

namespace Tta.Metrics;

/// <summary>
/// A registry of metric kinds, fixed when made. The order is the order of the units, of the default
/// <c>figures.kinds</c> and of the explorer's gallery. tta's kinds are <see cref="Default"/>, one line each; adding a
/// kind: its folder under Metrics/ (an <see cref="IMetricKind"/> with its unit, figures and caption) and one line
/// there — see src/Tta/Metrics/README.md. A run's context carries the registry it uses (<see cref="Of"/>); a test
/// runs its own kind with <c>Default.With(kind)</c>.
/// </summary>
public sealed class MetricKinds : IReadOnlyList<IMetricKind>
{
    private const string ContextKey = "tta.metric-kinds";

    private readonly IMetricKind[] kinds;
    private readonly IStudyKind[] studies;

    /// <param name="kinds">the per-text kinds (the list itself enumerates them)</param>
    /// <param name="studies">the study kinds (<see cref="Studies"/>)</param>
    public MetricKinds(IEnumerable<IMetricKind> kinds, IEnumerable<IStudyKind>? studies = null)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        this.kinds = [.. kinds];
        this.studies = [.. studies ?? []];
        if (Settings.GroupBy(k => k.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidOperationException($"metric kind '{twice.Key}' is registered twice");
    }

    /// <summary>tta's own kinds.</summary>
    public static MetricKinds Default { get; } = new(
    [
        new Similarity.SimilarityKind(),
        new Attention.AttentionKind(),
        new Trajectory.TrajectoryKind(),
        new Nearest.NearestKind(),
        new Projection.ProjectionKind(),
        new Norm.NormKind(),
        new LogitLens.LogitLensKind(),
    ],
    [
        new Statistics.StatisticsKind(),
        new Cka.CkaKind(),
    ]);

    /// <summary>These kinds and <paramref name="kind"/> after them (registering a name twice is an error).</summary>
    public MetricKinds With(IMetricKind kind) => new([.. kinds, kind], studies);

    /// <summary>The per-text kinds' names.</summary>
    public IReadOnlyList<string> Names => [.. kinds.Select(k => k.Name)];

    /// <summary>The study kinds: metrics over the whole corpus (<see cref="IStudyKind"/>), after the per-text kinds in every listing.</summary>
    public IReadOnlyList<IStudyKind> Studies => studies;

    /// <summary>How every kind, per text and per study, reads its settings: what the experiment loader is given.</summary>
    public IReadOnlyList<IMetricSettings> Settings => [.. kinds, .. studies];

    /// <summary>The study kind named <paramref name="name"/>, or null.</summary>
    public IStudyKind? FindStudy(string name) => studies.FirstOrDefault(k => k.Name == name);

    /// <summary>The study kinds an experiment configures, in registry order.</summary>
    public IEnumerable<IStudyKind> ConfiguredStudies(Experiment experiment) => studies.Where(k => experiment.Metrics.Has(k.Name));

    /// <summary>The kind named <paramref name="name"/>, or null.</summary>
    public IMetricKind? Find(string name) => kinds.FirstOrDefault(k => k.Name == name);

    public IMetricKind Get(string name) => Find(name) ?? throw new InvalidOperationException($"unknown metric kind '{name}'");

    /// <summary>The kinds an experiment configures, in registry order (similarity always).</summary>
    public IEnumerable<IMetricKind> Configured(Experiment experiment) => kinds.Where(k => experiment.Metrics.Has(k.Name));

    /// <summary>The registry <paramref name="context"/> carries: the one given to it (<see cref="AttachTo"/>), else <see cref="Default"/>.</summary>
    public static MetricKinds Of(RunContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Keep(ContextKey, () => Default);
    }

    /// <summary>Makes this the registry <paramref name="context"/> carries, before anything of the run reads it.</summary>
    public RunContext AttachTo(RunContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!ReferenceEquals(context.Keep(ContextKey, () => this), this))
            throw new InvalidOperationException("the run's metric kinds were read before they were given to it");
        return context;
    }

    public int Count => kinds.Length;

    public IMetricKind this[int index] => kinds[index];

    public IEnumerator<IMetricKind> GetEnumerator() => ((IEnumerable<IMetricKind>)kinds).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
