using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;

namespace Tta.Metrics;

/// <summary>
/// A study kind: a metric over the experiment's whole corpus rather than one text (layer statistics, CKA). Its
/// settings are read under <c>metrics:</c> like a per-text kind's (<see cref="IMetricSettings"/>); it makes units
/// per experiment (per model, per pair of models, …) that stream every text's stored activations, and figures from
/// their files, which the Figures stage renders into <c>figures/EXPERIMENT/study/</c> and the explorer's Study view
/// shows. Study kinds are listed once, in <see cref="MetricKinds.Studies"/>.
/// </summary>
public interface IStudyKind : IMetricSettings
{
    /// <summary>What its files hold, for archive descriptions (e.g. "layer statistics across the corpus").</summary>
    string Description { get; }

    /// <summary>Its Metrics units for <paramref name="experiment"/>.</summary>
    IReadOnlyList<StudyUnit> Units(Workspace ws, Experiment experiment);

    /// <summary>Its figures from its units' files (<paramref name="units"/>: all of the experiment's, e.g. one line per model), into <paramref name="context"/>'s folder; each job carries its <see cref="FigureRecord"/>.</summary>
    IReadOnlyList<FigureJob> Figures(FigureContext context, IReadOnlyList<StudyUnit> units);

    /// <summary>How the explorer's gallery groups and captions one of its figures.</summary>
    GalleryCaption Caption(FigureRecord figure);

    /// <summary>The files its figures read: its units' files, and any other kind's (CKA's difference maps read similarity maps).</summary>
    IEnumerable<(StageUnit Unit, string File)> FigureInputs(Workspace ws, Experiment experiment);

    /// <summary>Reads its units' files (<paramref name="units"/>: all of the experiment's) into its part of the explorer's Study view.</summary>
    void Explore(StudySet set, IReadOnlyList<StudyUnit> units);
}

/// <summary>Base of the study kinds whose settings are a <typeparamref name="TSettings"/>.</summary>
public abstract class StudyKind<TSettings> : KindSettings<TSettings>, IStudyKind
{
    public abstract string Description { get; }

    public abstract IReadOnlyList<StudyUnit> Units(Workspace ws, Experiment experiment);

    public abstract IReadOnlyList<FigureJob> Figures(FigureContext context, IReadOnlyList<StudyUnit> units);

    public abstract GalleryCaption Caption(FigureRecord figure);

    public virtual IEnumerable<(StageUnit Unit, string File)> FigureInputs(Workspace ws, Experiment experiment) =>
        Units(ws, experiment).Select(u => ((StageUnit)u, Path.GetFileName(u.OutputPath)));

    public abstract void Explore(StudySet set, IReadOnlyList<StudyUnit> units);
}
