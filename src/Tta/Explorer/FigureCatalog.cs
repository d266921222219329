using Tta.Figures;
using Tta.Metrics;

namespace Tta.Explorer;

/// <summary>
/// Names and orders a Figures unit's files for the explorer's gallery from what the unit recorded of each figure
/// (<see cref="FigureRecord"/>, by file stem; never from the file names): by metric kind in registry order
/// (<see cref="MetricKinds"/>), then as the kind places it (<see cref="IMetricKind.Caption"/>: group, stack, depth,
/// head, part), with the kind's caption.
/// </summary>
public static class FigureCatalog
{
    /// <summary>
    /// Groups <paramref name="files"/> (the outputs of one figure unit) by stem and describes each from its record;
    /// <paramref name="describePoint"/> names a similarity map's capture point as its figure's title does (<see cref="LayerNames.Map"/>)
    /// and gives its depth (<see cref="Depth.Within"/>). A file without a record is an error naming it.
    /// </summary>
    public static List<GalleryFigure> Catalog(IEnumerable<string> files, IReadOnlyDictionary<string, FigureRecord> records, PointDescriber describePoint)
    {
        var result = new List<GalleryFigure>();
        var kinds = MetricKinds.Names.ToList();
        foreach (var group in files.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal))
        {
            var byFormat = group.ToDictionary(f => Path.GetExtension(f).TrimStart('.').ToLowerInvariant(), f => f, StringComparer.Ordinal);
            if (!records.TryGetValue(group.Key, out var record))
                throw new InvalidDataException($"figure {group.First()}: its unit recorded nothing of it (rebuild the figures with this tta)");
            var caption = MetricKinds.Get(record.Kind).Caption(record, describePoint);
            result.Add(new GalleryFigure(record.Kind, caption.Group, caption.Caption, group.Key, byFormat,
                (kinds.IndexOf(record.Kind), caption.SubGroup, Depth.StackOrder(record.Stack), caption.Depth, caption.Head, caption.Part, group.Key)));
        }
        return [.. result.OrderBy(f => f.Order.Kind).ThenBy(f => f.Order.Group, StringComparer.Ordinal).ThenBy(f => f.Order.Stack)
            .ThenBy(f => f.Order.Depth).ThenBy(f => f.Order.Head).ThenBy(f => f.Order.Part).ThenBy(f => f.Order.Stem, StringComparer.Ordinal)];
    }
}
