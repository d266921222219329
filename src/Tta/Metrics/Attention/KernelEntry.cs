namespace Tta.Metrics.Attention;

/// <summary>The position bias of query row <see cref="Row"/> over key positions j (relative position j − Row).</summary>
public sealed record KernelEntry(int Row, IReadOnlyList<float> Values);
