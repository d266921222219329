namespace Tta.Explorer;

/// <summary>
/// One attention head of one module: map index per panel (<c>qk</c>, <c>position_bias</c>, <c>scores</c>,
/// <c>probs</c>; absent panels are missing) and the kernel. <see cref="Cross"/>: keys are encoder tokens.
/// </summary>
public sealed record AttentionEntry(string Stack, string Module, int Block, int Head, bool Cross,
    IReadOnlyDictionary<string, int> Panels, KernelEntry? Kernel);
