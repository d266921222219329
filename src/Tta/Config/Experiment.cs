namespace Tta.Config;

/// <summary>
/// An experiment file (experiments/*.yaml), validated. See experiments/README.md for every field.
/// <see cref="License"/> is the SPDX id of the licence its results are published under (archives carry it).
/// </summary>
public sealed record Experiment(
    string Name,
    string SourcePath,
    IReadOnlyList<ModelSpec> Models,
    IReadOnlyList<TextSpec> Texts,
    ExtractSpec Extract,
    MetricsSpec Metrics,
    FiguresSpec Figures,
    string License = Experiment.DefaultLicense,
    ExecutorSpec? Executor = null)
{
    /// <summary>The licence of results whose experiment names none: Creative Commons Attribution 4.0.</summary>
    public const string DefaultLicense = "CC-BY-4.0";
}
