using Tta.Explorer;

namespace Tta.Metrics.Attention;

/// <summary>
/// One attention head of one module: map index per panel (<c>qk</c>, <c>position_bias</c>, <c>scores</c>,
/// <c>probs</c>; absent panels are missing) and the kernel. <see cref="Cross"/>: keys are encoder tokens.
/// <see cref="Label"/> names the module as its figures' titles do (<see cref="Figures.LayerNames.AttentionModule"/>).
/// </summary>
public sealed record AttentionEntry(string Stack, string Module, int Block, int Head, string Label, bool Cross,
    IReadOnlyDictionary<string, int> Panels, KernelEntry? Kernel) : ViewEntry;
