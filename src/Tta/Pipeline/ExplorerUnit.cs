using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Core;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Pipeline;

/// <summary>
/// The experiment's interactive explorer, <c>figures/&lt;experiment&gt;/index.html</c>, linking the static figures and
/// the thumbnails their units made (<see cref="Thumbnails"/>). It declares everything the page shows (see
/// <see cref="Declare"/>), so it is rebuilt when, and only when, one of them changes.
/// </summary>
public sealed class ExplorerUnit(Workspace ws, Experiment experiment, MetricKinds kinds) : StageUnit
{
    public const string CodeVersion = "explorer-4"; // 2: thumbnails made by the figure units; 3: the figures' layer names, state in the URL; 4: nearest tokens as ids and a token table per model

    public override string Stage => FiguresStage.Name;
    public override string Key => $"{experiment.Name}/explorer";
    public override string ManifestPath => Path.Combine(ws.CacheDir, "figures", experiment.Name, "explorer.manifest.json");
    public string PagePath => Path.Combine(ws.FiguresDir, experiment.Name, ExplorerPage.FileName);

    /// <summary>
    /// Reads the metrics files it embeds and the figure units' files (thumbnails, links) of the texts it shows
    /// (<see cref="Experiment.ExplorerTexts"/>; figures only of texts with per-text figures) and, for the run details,
    /// the activations of every text; its parameters are the page assets, the experiment file, the colormap and, only
    /// where the experiment has an <c>explorer:</c> section, its texts (so pages without one keep their fingerprints).
    /// </summary>
    public override UnitDeclaration Declare()
    {
        var declaration = new UnitDeclaration(CodeVersion)
            .Param("assets", ExplorerPage.AssetsSha256)
            .Param("experiment_file", Hashing.Sha256(ExplorerBuilder.ExperimentText(ws, experiment)))
            .Param("figures.colormap", experiment.Figures.Colormap)
            .Writes(PagePath);
        if (experiment.Explorer.Given)
            declaration.Param("explorer.texts", (object?)experiment.Explorer.Keys ?? experiment.Explorer.First);
        var shown = experiment.ExplorerTexts().ToHashSet();
        foreach (var m in experiment.Models)
            foreach (var t in experiment.Texts)
            {
                declaration.Reads(Extract.ExtractStage.For(ws, experiment, m, t), Extract.ExtractStage.ActivationsFile);
                if (!shown.Contains(t)) continue;
                foreach (var (_, unit) in ExplorerBuilder.MetricUnits(ws, experiment, m, t, kinds))
                    declaration.Reads(unit, Path.GetFileName(unit.OutputPath));
                if (experiment.Figures.PerTextFor(t)) declaration.Reads(new FiguresUnit(ws, experiment, m, t, kinds));
            }
        // The study's figures and files (their run details, and the Study view).
        if (new StudyFiguresUnit(ws, experiment, kinds) is { Wanted: true } study) declaration.Reads(study);
        foreach (var kind in kinds.ConfiguredStudies(experiment))
            foreach (var unit in kind.Units(ws, experiment))
                declaration.Reads(unit, Path.GetFileName(unit.OutputPath));
        return declaration;
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        // Explorers before explorer-2 made the gallery's thumbnails themselves, in the page's folder; the figure
        // units make them now, so that folder is a leftover.
        var legacyThumbs = Path.Combine(Path.GetDirectoryName(PagePath)!, Figures.Thumbnails.Folder);
        if (Directory.Exists(legacyThumbs)) Directory.Delete(legacyThumbs, recursive: true);
        var builder = new ExplorerBuilder(ws, experiment, kinds);
        var data = builder.Build();
        ExplorerPage.Write(PagePath, data, builder.Maps);
        return [PagePath];
    }
}
