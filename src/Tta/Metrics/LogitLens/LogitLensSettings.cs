namespace Tta.Metrics.LogitLens;

/// <summary><c>metrics.logit_lens</c>: how many of the most probable tokens are kept per layer and position.</summary>
public sealed record LogitLensSettings(int K);
