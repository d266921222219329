using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics.Statistics;

/// <summary>
/// <c>metrics.statistics</c>: layer statistics across the corpus, per model and hidden-state series (anisotropy,
/// intra-text similarity, self-similarity, mean norm, effective dimensionality; <see cref="StatisticsUnit"/>), drawn
/// one line per model over relative depth.
/// </summary>
public sealed class StatisticsKind : StudyKind<StatisticsSettings>
{
    public const string Key = "statistics";
    public const int DefaultMinOccurrences = 5, DefaultMaxTypes = 1000, MaxMaxTypes = 100_000;
    private static readonly string[] Keys = ["min_occurrences", "max_types"];

    public override string Name => Key;
    public override string Description => "layer statistics across the corpus";
    public override string Example => "statistics: true";

    public override object? Read(YamlNodeReader reader, YamlNode value)
    {
        if (value is YamlScalarNode) return reader.Bool(value, Name) ? new StatisticsSettings(DefaultMinOccurrences, DefaultMaxTypes) : null;
        var f = reader.Fields(value, "'metrics.statistics'", Keys, "write 'statistics: true' or e.g. 'statistics: { min_occurrences: 5, max_types: 1000 }'");
        int Field(string key, int fallback, int min, int max)
        {
            if (!f.TryGetValue(key, out var v) || YamlNodeReader.IsNull(v.Value)) return fallback;
            var n = reader.Int(v.Value, key);
            if (n < min || n > max) throw reader.Error(v.Value, $"statistics {key} {n} is out of range", $"use {min}..{max} (default {fallback})");
            return n;
        }
        return new StatisticsSettings(Field("min_occurrences", DefaultMinOccurrences, 2, 1_000_000), Field("max_types", DefaultMaxTypes, 1, MaxMaxTypes));
    }

    public override IReadOnlyList<StudyUnit> Units(Workspace ws, Experiment experiment) =>
        [.. experiment.Models.Select(m => new StatisticsUnit(ws, experiment, m))];

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, IReadOnlyList<StudyUnit> units) => StatisticsFigures.Render(context, units);

    public override void Explore(StudySet set, IReadOnlyList<StudyUnit> units) => StatisticsView.Add(set, units);

    public override GalleryCaption Caption(FigureRecord figure) =>
        new("layer statistics", $"{StatisticsFigures.Label(figure.What)} ({StatisticsFigures.AxisLabel(figure.What)}) across the corpus, one line per model over relative depth", SubGroup: figure.What);
}

/// <summary>
/// The statistics' settings: self-similarity counts the word types seen at least <paramref name="MinOccurrences"/>
/// times, at most the <paramref name="MaxTypes"/> most frequent (which bounds its memory).
/// </summary>
public sealed record StatisticsSettings(int MinOccurrences, int MaxTypes);
