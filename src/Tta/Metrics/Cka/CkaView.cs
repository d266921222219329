using System.Text.Json;
using Tta.Explorer;
using Tta.Store;

namespace Tta.Metrics.Cka;

/// <summary>The explorer's CKA maps, in the Study view: a heatmap per file whose cells open the two layers' similarity maps.</summary>
public static class CkaView
{
    /// <summary>Adds the map of every CKA file of <paramref name="units"/>, in the units' order.</summary>
    public static void Add(StudySet set, IReadOnlyList<StudyUnit> units)
    {
        foreach (var unit in units)
        {
            var map = MetricsStage.Sync(() => CkaFigures.ReadAsync(unit.OutputPath));
            // The hidden-state series of each side, whose maps (series.layer) a click opens.
            var metadata = MetricsStage.Sync(() => VectorStoreReader.ReadMetadataAsync(unit.OutputPath));
            var series = JsonSerializer.Deserialize<JsonElement>(metadata[StoreKeys.Alignment]).GetProperty("series");
            set.Cka.Add(new CkaEntry(unit.Stem, map.ModelA, map.ModelB, series[0].GetString() ?? "", series[1].GetString() ?? "",
                map.LayersA, map.LayersB, [.. map.Values.Select(v => float.IsFinite(v) ? v : (float?)null)], map.Pairing, map.Rule, map.Rows));
        }
    }
}

/// <summary>
/// A CKA map: model A's hidden states <see cref="LayersA"/> of <see cref="SeriesA"/> (rows) against B's (columns),
/// <see cref="Values"/> row-major (null: NaN), over <see cref="Rows"/> rows paired as <see cref="Pairing"/> says (<see cref="Rule"/>).
/// </summary>
public sealed record CkaEntry(string Stem, string ModelA, string ModelB, string SeriesA, string SeriesB, int[] LayersA, int[] LayersB,
    float?[] Values, string Pairing, string Rule, long Rows) : ViewEntry;
