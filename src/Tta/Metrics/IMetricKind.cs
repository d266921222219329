using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;

namespace Tta.Metrics;

/// <summary>
/// One metric kind and everything tta needs to know of it, from the YAML to the explorer: its key under
/// <c>metrics:</c> (also its figure kind and output name), how its settings are read and checked, the Metrics unit it
/// makes per model × text, the figures it renders from that unit's file and their gallery captions (its name and
/// settings reader are <see cref="IMetricSettings"/>, which the loader uses). Kinds are listed
/// once, in <see cref="MetricKinds"/>; the loader, the stages, Archive, Verify and the explorer iterate that list.
/// Each kind lives in its own folder under Metrics/ (its settings, unit, math, figures, caption and view).
/// </summary>
public interface IMetricKind : IMetricSettings
{
    /// <summary>What its file holds, for archive descriptions (e.g. "attention decomposition").</summary>
    string Description { get; }

    /// <summary>
    /// Refuses (a <see cref="ConfigException"/>) a model the kind cannot run on, from its config.json in
    /// <paramref name="checkpointDir"/>; called before any stage where the checkpoint is at hand. Most kinds run on any model.
    /// </summary>
    void CheckModel(ModelSpec model, JsonObject config, string checkpointDir) { }

    /// <summary>The Metrics unit that computes it for one model × text.</summary>
    MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text);

    /// <summary>Its figures, read from <paramref name="parquet"/> (the unit's output); each job carries its <see cref="FigureRecord"/>.</summary>
    IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet);

    /// <summary>How the explorer's gallery groups, captions and orders one of its figures.</summary>
    GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint);

    /// <summary>Whether the explorer page shows its file in a view of its own (similarity maps, attention panels, …).</summary>
    bool HasView { get; }

    /// <summary>Reads its file into its explorer view; called only for a kind that <see cref="HasView"/>.</summary>
    void Explore(ExplorerSet set, string parquet);
}
