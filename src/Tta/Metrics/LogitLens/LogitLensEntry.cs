using Tta.Explorer;

namespace Tta.Metrics.LogitLens;

/// <summary>
/// The logit lens of one hidden-state series on the explorer page. Cells are layer-major over <see cref="Layers"/>
/// (the stored layers, ascending) × <see cref="Positions"/>: <see cref="Ids"/> and <see cref="Probabilities"/> hold
/// <see cref="K"/> per cell, most probable first ([layer][position][rank]); <see cref="NextRanks"/> and
/// <see cref="NextProbabilities"/> one per cell (null where no token follows); <see cref="Next"/> the token that comes
/// next at each position. Token ids are looked up in the page's token table number <see cref="TokenTable"/>;
/// probabilities are rounded to 3 significant digits.
/// </summary>
public sealed record LogitLensEntry(string Series, string Stack, int K, int TokenTable, IReadOnlyList<int> Layers, int Positions,
    IReadOnlyList<long> Ids, IReadOnlyList<float> Probabilities, IReadOnlyList<long?> Next, IReadOnlyList<int?> NextRanks,
    IReadOnlyList<float?> NextProbabilities) : ViewEntry;
