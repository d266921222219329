using System.Text.Json.Serialization;

namespace Tta.Explorer;

/// <summary>
/// Everything the explorer page shows. <see cref="Study"/> (the Study view, <see cref="StudySet"/>) is written only
/// when the experiment has study kinds, so the data of a page without them is as before.
/// </summary>
public sealed record PageData(
    string Title,
    string Experiment,
    IReadOnlyList<string> Colormap,
    string MaskedColor,
    string MissingColor,
    string DecoderStart,
    IReadOnlyList<PageModel> Models,
    IReadOnlyList<string> Texts,
    IReadOnlyList<PageSet> Sets,
    IReadOnlyList<TokenTable> TokenTables,
    IReadOnlyList<PageMap> Maps,
    string Yaml,
    IReadOnlyList<PageUnit> Run,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PageStudy? Study = null);
