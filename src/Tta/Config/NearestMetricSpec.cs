namespace Tta.Config;

/// <summary>Top-<see cref="K"/> nearest input-embedding rows of every trajectory vector (inner product and L2).</summary>
public sealed record NearestMetricSpec(int K);
