namespace Tta.Explorer;

/// <summary>
/// A static figure: its file stem (the page's link to it: <c>#figure=STEM</c>), thumbnail (relative URL and size, or
/// null) and its files by format (relative URLs).
/// </summary>
public sealed record FigureEntry(string Kind, string Stem, string Group, string Caption, string? Thumb, int ThumbWidth, int ThumbHeight,
    IReadOnlyDictionary<string, string> Files);
