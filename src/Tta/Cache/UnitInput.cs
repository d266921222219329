namespace Tta.Cache;

/// <summary>
/// An upstream unit whose outputs a unit reads (a DVC <c>dep</c>): every output of <see cref="Unit"/>, or only the
/// one named <see cref="File"/> (its file name).
/// </summary>
public sealed record UnitInput(StageUnit Unit, string? File = null);
