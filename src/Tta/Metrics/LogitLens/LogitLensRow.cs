namespace Tta.Metrics.LogitLens;

/// <summary>One row of logit_lens.parquet (layout <see cref="LogitLensStore"/>).</summary>
public sealed record LogitLensRow(string Point, string Stack, int Layer, int Position, int Rank, long TokenId, string? Token,
    float Probability, long? NextTokenId, string? NextToken, int? NextRank, float? NextProbability);
