namespace Tta.Explorer;

/// <summary>A static figure: thumbnail (relative URL and size, or null) and its files by format (relative URLs).</summary>
public sealed record FigureEntry(string Kind, string Group, string Caption, string? Thumb, int ThumbWidth, int ThumbHeight,
    IReadOnlyDictionary<string, string> Files);
