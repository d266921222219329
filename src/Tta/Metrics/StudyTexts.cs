using Tta.Config;

namespace Tta.Metrics;

/// <summary>
/// The texts a study shows one by one (difference maps, the explorer's per-text maps): the explorer's texts
/// (<see cref="Experiment.ExplorerTexts"/>: <c>explorer.texts</c>, by default the first five).
/// </summary>
public static class StudyTexts
{
    public static IReadOnlyList<TextSpec> Shown(Experiment experiment) => [.. experiment.ExplorerTexts()];
}
