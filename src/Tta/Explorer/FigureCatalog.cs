using Tta.Figures;

namespace Tta.Explorer;

/// <summary>
/// Names and orders a Figures unit's files for the explorer's gallery from what the unit recorded of each figure
/// (<see cref="FigureRecord"/>, by file stem; never from the file names): by metric kind in registry order, then as
/// the kind places it (its <see cref="GalleryCaption"/>: group, stack, depth, head, part), with the kind's caption.
/// </summary>
public static class FigureCatalog
{
    /// <summary>
    /// Groups <paramref name="files"/> (the outputs of one figure unit) by stem and describes each from its record;
    /// <paramref name="kinds"/>: the metric kinds' names in registry order; <paramref name="caption"/>: what the
    /// figure's kind says of it. A file without a record is an error naming it.
    /// </summary>
    public static List<GalleryFigure> Catalog(IEnumerable<string> files, IReadOnlyDictionary<string, FigureRecord> records,
        IReadOnlyList<string> kinds, Func<FigureRecord, GalleryCaption> caption)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        ArgumentNullException.ThrowIfNull(caption);
        var result = new List<GalleryFigure>();
        var order = kinds.ToList();
        foreach (var group in files.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal))
        {
            var byFormat = group.ToDictionary(f => Path.GetExtension(f).TrimStart('.').ToLowerInvariant(), f => f, StringComparer.Ordinal);
            if (!records.TryGetValue(group.Key, out var record))
                throw new InvalidDataException($"figure {group.First()}: its unit recorded nothing of it (rebuild the figures with this tta)");
            var described = caption(record);
            result.Add(new GalleryFigure(record.Kind, described.Group, described.Caption, group.Key, byFormat,
                (order.IndexOf(record.Kind), described.SubGroup, Depth.StackOrder(record.Stack), described.Depth, described.Head, described.Part, group.Key)));
        }
        return [.. result.OrderBy(f => f.Order.Kind).ThenBy(f => f.Order.Group, StringComparer.Ordinal).ThenBy(f => f.Order.Stack)
            .ThenBy(f => f.Order.Depth).ThenBy(f => f.Order.Head).ThenBy(f => f.Order.Part).ThenBy(f => f.Order.Stem, StringComparer.Ordinal)];
    }
}
