using Tta.Explorer;

namespace Tta.Metrics.Statistics;

/// <summary>The explorer's statistics charts: one line per model and hidden-state series, in the Study view.</summary>
public static class StatisticsView
{
    /// <summary>Adds the lines of every statistics file of <paramref name="units"/>, in the units' order (the experiment's models).</summary>
    public static void Add(StudySet set, IReadOnlyList<StudyUnit> units)
    {
        foreach (var unit in units)
            foreach (var line in MetricsStage.Sync(() => StatisticsFigures.ReadAsync(unit.OutputPath)))
                set.Statistics.Add(new StatisticsEntry(line.Model, line.Series, line.Stack, line.Layers, line.Depth,
                    [.. StatisticsFigures.Drawn.Select(m => new StatisticsMeasure(m, StatisticsFigures.Label(m), Values(line.Values[m])))]));
    }

    /// <summary>The values as the page's JSON holds them: NaN (a statistic with nothing to average) as null.</summary>
    private static float?[] Values(float[] values) => [.. values.Select(v => float.IsFinite(v) ? v : (float?)null)];
}

/// <summary>
/// One model's series in the statistics charts: its hidden states (<see cref="Layers"/>, e.g. 0 for the embeddings),
/// their relative depth (hidden state / blocks) and every drawn statistic's values along them.
/// </summary>
public sealed record StatisticsEntry(string Model, string Series, string Stack, int[] Layers, double[] Depth, IReadOnlyList<StatisticsMeasure> Measures) : ViewEntry;

/// <summary>One statistic of a <see cref="StatisticsEntry"/>: its key (the chart it is drawn in), label and values (null: NaN).</summary>
public sealed record StatisticsMeasure(string Key, string Label, float?[] Values);
