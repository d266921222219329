namespace Tta.Explorer;

/// <summary>Everything the explorer page shows.</summary>
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
    IReadOnlyList<PageUnit> Run);
