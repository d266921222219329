namespace Tta.Explorer;

/// <summary>
/// The explorer's Study view of one experiment (metrics over the whole corpus), filled by the study kinds that
/// configure it, in registry order: each reads its units' files into its own entries (<see cref="ViewEntry"/>).
/// </summary>
public sealed class StudySet
{
    /// <summary>Layer statistics: one entry per model and hidden-state series (a line in each statistic's chart).</summary>
    public List<ViewEntry> Statistics { get; } = [];

    /// <summary>CKA maps: one entry per file (model A's layers × model B's).</summary>
    public List<ViewEntry> Cka { get; } = [];

    /// <summary>What the page's data holds of it, or null when no kind added anything (the page then has no Study view).</summary>
    public PageStudy? Page => Statistics.Count == 0 && Cka.Count == 0 ? null : new PageStudy(Statistics, Cka);
}

/// <summary>The page's Study view: the statistics' lines and the CKA maps (entries of the study kinds).</summary>
public sealed record PageStudy(IReadOnlyList<ViewEntry> Statistics, IReadOnlyList<ViewEntry> Cka);
