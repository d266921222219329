using Tta.Config;

namespace Tta.Metrics;

/// <summary>The texts a study shows one by one (difference maps, the explorer's per-text maps): the first few of the corpus.</summary>
public static class StudyTexts
{
    public const int DefaultCount = 5;

    public static IReadOnlyList<TextSpec> Shown(Experiment experiment) => [.. experiment.Texts.Take(DefaultCount)];
}
