using Tta.Cache;
using Tta.Config;
using Tta.Figures;

namespace Tta.Explorer;

/// <summary>
/// The experiment's interactive explorer, <c>figures/&lt;experiment&gt;/index.html</c>, with thumbnails of the static
/// figures under <c>figures/&lt;experiment&gt;/~thumbs/</c>. Its fingerprint holds everything the page shows: the page
/// assets, the experiment file, the sha256 of every metrics file it embeds, the files of every figure unit, and the
/// run details (each unit's fingerprint and output count), so it is rebuilt when, and only when, one of them
/// changes.
/// </summary>
public sealed class ExplorerUnit(Workspace ws, Experiment experiment) : StageUnit
{
    public const string CodeVersion = "explorer-1";

    public override string Stage => FiguresStage.Name;
    public override string Key => $"{experiment.Name}/explorer";
    public override string ManifestPath => Path.Combine(ws.CacheDir, "figures", experiment.Name, "explorer.manifest.json");
    public string PagePath => Path.Combine(ws.FiguresDir, experiment.Name, ExplorerPage.FileName);

    public override StageFingerprint Fingerprint()
    {
        var fp = new StageFingerprint(Stage, CodeVersion)
            .Add("assets", ExplorerPage.AssetsSha256)
            .Add("experiment_file", Hashing.Sha256(ExplorerBuilder.ExperimentText(ws, experiment)))
            .AddConfig("figures.colormap", experiment.Figures.Colormap);
        foreach (var m in experiment.Models)
            foreach (var t in experiment.Texts)
            {
                foreach (var (kind, unit) in ExplorerBuilder.MetricUnits(ws, experiment, m, t))
                    fp.Add($"metrics:{m.Key}/{t.Key}/{kind}",
                        StageRunner.Upstream(unit.ManifestPath, $"{kind} metrics of {unit.Key} (stage Metrics)").Outputs[0].Sha256);
                var figures = new FiguresUnit(ws, experiment, m, t);
                var manifest = StageRunner.Upstream(figures.ManifestPath, $"figures of {figures.Key}");
                fp.Add($"figures:{m.Key}/{t.Key}", Hashing.Sha256(string.Join("\n", manifest.Outputs.Select(o => $"{o.Path} {o.Sha256}"))));
            }
        fp.Add("run_details", Hashing.Sha256(string.Join("\n", ExplorerBuilder.RunUnits(ws, experiment))));
        return fp;
    }

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var builder = new ExplorerBuilder(ws, experiment);
        // Thumbnails of an earlier run that this one does not rewrite go away.
        var thumbs = Path.Combine(builder.PageDir, ExplorerBuilder.ThumbsFolder);
        if (Directory.Exists(thumbs)) Directory.Delete(thumbs, recursive: true);
        var data = builder.Build();
        ExplorerPage.Write(PagePath, data, builder.Maps);
        return [PagePath, .. builder.ThumbnailFiles];
    }
}
