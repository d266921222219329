using Tta.Metrics;

namespace Tta.Archive;

/// <summary>
/// How <see cref="ArchiveVerifier"/> reads an archive: the metric kinds it knows (to regenerate their figures), and
/// the largest member it accepts, by kind: metadata and texts, figures, anything else (Parquet).
/// </summary>
public sealed record VerifyOptions(MetricKinds Kinds)
{
    public static VerifyOptions Default { get; } = new(MetricKinds.Default);

    public long MaxMetadataBytes { get; init; } = 64L << 20;
    public long MaxFigureBytes { get; init; } = 512L << 20;
    public long MaxDataBytes { get; init; } = 64L << 30;

    /// <summary>Largest size a member of this name may have, by its kind.</summary>
    public long Cap(string name) => ExperimentArchive.MediaType(name) switch
    {
        "image/png" or "application/pdf" or "image/svg+xml" => MaxFigureBytes,
        "application/vnd.apache.parquet" => MaxDataBytes,
        "text/plain" when !name.StartsWith(ArchiveLayout.ExperimentPrefix + "/", StringComparison.Ordinal)
                          && !name.StartsWith(ArchiveLayout.ExternalPrefix + "/", StringComparison.Ordinal) => MaxMetadataBytes,
        "text/plain" => MaxFigureBytes, // input texts
        _ => MaxMetadataBytes,
    };
}
