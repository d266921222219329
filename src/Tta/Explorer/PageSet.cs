using System.Text.Json.Serialization;

namespace Tta.Explorer;

/// <summary>
/// One model × text: its tokens (labels) and every view's data (entries of the kinds with a view, <see cref="ViewEntry"/>).
/// <see cref="LogitLens"/> is written only where there is one, so a page without it holds the data it held before.
/// </summary>
public sealed record PageSet(
    string Model,
    string Text,
    IReadOnlyList<string> Tokens,
    IReadOnlyList<ViewEntry> Similarity,
    IReadOnlyList<ViewEntry> Attention,
    IReadOnlyList<ViewEntry> Projection,
    IReadOnlyDictionary<string, ViewEntry>? Nearest,
    IReadOnlyList<FigureEntry> Figures,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ViewEntry>? LogitLens = null);
