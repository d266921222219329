using System.Text.Json;
using Tta.Store;

namespace Tta.Figures;

/// <summary>
/// What one figure shows, recorded by the Figures unit beside its files (the unit manifest's facts, by file stem), so
/// the explorer and the gallery read kinds from the record, never from file names: its metric kind, stack, capture
/// point or series, layer or block (−1 if none), head, and which measure or panel (<see cref="What"/>).
/// </summary>
public sealed record FigureRecord(string Kind, string Stack, string Point, int Layer, int? Head, string What)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The record of a figure of <paramref name="kind"/> for <paramref name="key"/> (its stack, point, layer and head).</summary>
    public static FigureRecord Of(ActivationPoint key, string kind, string what) => new(kind, key.Stack, key.Point, key.Layer, key.Head, what);

    /// <summary>The file stem of a metric kind's figure: <see cref="FiguresStage.FileStem"/> with the measure part <c>KIND-WHAT</c>.</summary>
    public string KindStem() => FiguresStage.FileStem(new ActivationPoint(Point, Stack, Layer, Head, $"{Kind}-{What}"));

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static FigureRecord? FromJson(string json) => JsonSerializer.Deserialize<FigureRecord>(json, Json);
}
