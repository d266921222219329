using Tta.Explorer;

namespace Tta.Metrics.Nearest;

/// <summary>Nearest vocabulary tokens of a series: measure → hidden-state index → position → tokens, best first.</summary>
public sealed record NearestEntry(int K, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<string>>>> ByMeasure) : ViewEntry;
