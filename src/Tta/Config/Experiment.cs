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

    /// <summary>The corpora its <c>texts:</c> name, in file order (their texts are in <see cref="Texts"/>).</summary>
    public IReadOnlyList<CorpusSpec> Corpora { get; init; } = [];

    /// <summary>The <c>explorer:</c> section (<see cref="ExplorerSpec.Default"/> when absent).</summary>
    public ExplorerSpec Explorer { get; init; } = ExplorerSpec.Default;

    // Methods, not properties: the experiment's properties are its settings (see ParamCoverageTests).
    /// <summary>The texts the explorer page embeds per-text maps for (<see cref="ExplorerSpec.Select"/>).</summary>
    public IReadOnlyList<TextSpec> ExplorerTexts() => Explorer.Select(Texts);

    /// <summary>The texts with their own figures (<see cref="FiguresSpec.PerTextFor"/>).</summary>
    public IReadOnlyList<TextSpec> PerTextFigureTexts() => [.. Texts.Where(Figures.PerTextFor)];
}
