using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics.Cka;

/// <summary>
/// <c>metrics.cka</c>: linear CKA (Kornblith et al. 2019) between every layer of one model and every layer of another,
/// over all tokens of the corpus (<see cref="CkaUnit"/>): for every pair of the experiment's models, and, with
/// <c>within</c> (the default), each model against itself (layer × layer).
/// </summary>
public sealed class CkaKind : StudyKind<CkaSettings>
{
    public const string Key = "cka";
    private static readonly string[] Keys = ["within", "pairs"];

    public override string Name => Key;
    public override string Description => "linear CKA between layers";
    public override string Example => "cka: true";

    public override object? Read(YamlNodeReader reader, YamlNode value)
    {
        if (value is YamlScalarNode) return reader.Bool(value, Name) ? new CkaSettings(true, true) : null;
        var f = reader.Fields(value, "'metrics.cka'", Keys, "write 'cka: true' or e.g. 'cka: { within: true, pairs: true }'");
        bool Flag(string key) => !f.TryGetValue(key, out var v) || YamlNodeReader.IsNull(v.Value) || reader.Bool(v.Value, key);
        var settings = new CkaSettings(Flag("within"), Flag("pairs"));
        if (!settings.Within && !settings.Pairs)
            throw reader.Error(value, "cka with neither 'within' nor 'pairs' computes nothing", "set one of them to true, or remove 'cka'");
        return settings;
    }

    public override IReadOnlyList<StudyUnit> Units(Workspace ws, Experiment experiment)
    {
        var settings = experiment.Metrics.Get<CkaSettings>(Key)!;
        var units = new List<StudyUnit>();
        var models = experiment.Models;
        for (var a = 0; a < models.Count; a++)
        {
            if (settings.Within) units.Add(new CkaUnit(ws, experiment, models[a], models[a]));
            if (settings.Pairs)
                for (var b = a + 1; b < models.Count; b++) units.Add(new CkaUnit(ws, experiment, models[a], models[b]));
        }
        return units;
    }

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, IReadOnlyList<StudyUnit> units) => CkaFigures.Render(context, units);

    /// <summary>Its units' files, and the similarity maps its difference maps read.</summary>
    public override IEnumerable<(StageUnit Unit, string File)> FigureInputs(Workspace ws, Experiment experiment) =>
        base.FigureInputs(ws, experiment).Concat(Units(ws, experiment).OfType<CkaUnit>()
            .SelectMany(u => DifferenceMaps.Inputs(ws, u)).Select(s => ((StageUnit)s, Path.GetFileName(s.OutputPath))));

    public override void Explore(StudySet set, IReadOnlyList<StudyUnit> units) => CkaView.Add(set, units);

    public override GalleryCaption Caption(FigureRecord figure) =>
        figure.What.StartsWith(DifferenceMaps.WhatPrefix, StringComparison.Ordinal)
            ? new("similarity differences", $"{figure.Stack} · {figure.Point} · cosine similarity B − A, diverging colours centred on 0",
                SubGroup: figure.What, Depth: Explorer.Depth.OfBlock(figure.Layer))
            : new("CKA between layers", $"{figure.Point} · linear CKA over every token of the corpus; {RowPairing.Rule}", SubGroup: figure.What);
}

/// <summary>Which CKA maps to compute: each model against itself (<paramref name="Within"/>), every pair of models (<paramref name="Pairs"/>).</summary>
public sealed record CkaSettings(bool Within, bool Pairs);
