using Tta.Explorer;

namespace Tta.Metrics.Nearest;

/// <summary>
/// Nearest vocabulary tokens of a series: measure → hidden-state index → position → token ids, best first; the page
/// shows each id as its <see cref="TokenTable"/> (the page's table number <paramref name="TokenTable"/>) says.
/// </summary>
public sealed record NearestEntry(int K, int TokenTable, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<long>>>> ByMeasure) : ViewEntry;
