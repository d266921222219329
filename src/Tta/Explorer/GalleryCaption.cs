namespace Tta.Explorer;

/// <summary>
/// What a metric kind says of one of its figures in the gallery: the group it is shown in, its caption, and its place
/// (after the kind and the stack): a sub-group (e.g. the measure), depth, head and part.
/// </summary>
public sealed record GalleryCaption(string Group, string Caption, string SubGroup = "", double Depth = 0, int Head = 0, int Part = 0);
