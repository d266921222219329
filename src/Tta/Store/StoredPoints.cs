using System.Text.Json.Nodes;
using Tta.Models;

namespace Tta.Store;

/// <summary>
/// What each point of a store file is, recorded when the file is written (key-value metadata <c>tta.points</c>): a
/// JSON object from each point name to its kind and path (<see cref="CapturePoint"/>), plus <c>"cross": true</c> for
/// a cross-attention module's tensors, e.g.
/// <c>{"encoder_hidden_states.3": {"kind": "hidden_state", "path": "encoder_hidden_states"}}</c>. Stack, layer and head
/// are the file's columns, so a reader rebuilds the whole <see cref="CapturePoint"/> without reading names.
/// </summary>
public sealed class StoredPoints
{
    private readonly IReadOnlyDictionary<string, (CaptureKind Kind, string Path, bool Cross)> entries;
    private readonly string file;

    private StoredPoints(IReadOnlyDictionary<string, (CaptureKind, string, bool)> entries, string file)
    {
        this.entries = entries;
        this.file = file;
    }

    /// <summary>The metadata value for <paramref name="points"/> (sorted by name, so it is the same whatever the order).</summary>
    public static string Serialize(IEnumerable<CapturePoint> points)
    {
        var json = new JsonObject();
        foreach (var p in points.DistinctBy(p => p.Name).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var entry = new JsonObject { ["kind"] = CapturePoint.KindName(p.Kind), ["path"] = p.Path };
            if (p.Cross) entry["cross"] = true;
            json[p.Name] = entry;
        }
        return json.ToJsonString();
    }

    /// <summary>Points known in memory (as a file's metadata would describe them).</summary>
    public static StoredPoints Of(IEnumerable<CapturePoint> points, string file = "(memory)") =>
        new(points.DistinctBy(p => p.Name).ToDictionary(p => p.Name, p => (p.Kind, p.Path, p.Cross), StringComparer.Ordinal), file);

    /// <summary>The points described in a store file's metadata; <paramref name="file"/> names it in errors.</summary>
    public static StoredPoints Read(IReadOnlyDictionary<string, string> metadata, string file)
    {
        if (!metadata.TryGetValue(StoreKeys.Points, out var text))
            throw new InvalidDataException($"{file}: no '{StoreKeys.Points}' metadata (written by an older tta?); rebuild it (--force-stage=Extract)");
        var entries = new Dictionary<string, (CaptureKind, string, bool)>(StringComparer.Ordinal);
        InvalidDataException Bad(string why) => new($"{file}: '{StoreKeys.Points}' is not a JSON object of point → {{kind, path}}: {why}");
        try
        {
            if (JsonNode.Parse(text) is not JsonObject root) throw Bad("not an object");
            foreach (var (name, node) in root)
            {
                if (node is not JsonObject entry || entry["kind"]?.GetValue<string>() is not { } kind || entry["path"]?.GetValue<string>() is not { } path)
                    throw Bad($"'{name}' has no kind and path");
                entries[name] = (CapturePoint.ParseKind(kind), path, entry["cross"]?.GetValue<bool>() ?? false);
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw Bad(e.Message);
        }
        return new StoredPoints(entries, file);
    }

    /// <summary>The point a block of the file holds: its kind and path from the metadata, the rest from its key.</summary>
    public CapturePoint this[ActivationPoint key]
    {
        get
        {
            if (!entries.TryGetValue(key.Point, out var e))
                throw new InvalidDataException($"{file}: point '{key.Point}' is not described in '{StoreKeys.Points}'");
            return new CapturePoint(key.Point, e.Path, key.Stack, key.Layer, e.Kind, key.Head, e.Cross);
        }
    }

    /// <summary>The store key of a point's block.</summary>
    public static ActivationPoint KeyOf(CapturePoint point) => new(point.Name, point.Stack, point.Layer, point.Head);

    /// <summary>Whether a block holds a hidden state (a whole one, not a head).</summary>
    public bool IsHiddenStateBlock(ActivationPoint key) => key.Head is null && this[key].Kind == CaptureKind.HiddenState;

    /// <summary>
    /// The hidden-state series a block belongs to: its point's path (<c>encoder_hidden_states.3</c> →
    /// <c>encoder_hidden_states</c>), or null for any other block. A metrics file's measure is ignored.
    /// </summary>
    public string? HiddenStateSeries(ActivationPoint key)
    {
        var block = key with { Measure = null };
        return IsHiddenStateBlock(block) ? this[block].Path : null;
    }
}
