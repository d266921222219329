namespace Tta.Explorer;

/// <summary>One static figure of the gallery: its kind, the group it is shown in, a caption, and its files by format.</summary>
public sealed record GalleryFigure(string Kind, string Group, string Caption, string Stem, IReadOnlyDictionary<string, string> Files,
    (int Kind, string Group, int Stack, double Depth, int Head, int Part, string Stem) Order);
