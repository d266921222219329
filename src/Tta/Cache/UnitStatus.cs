namespace Tta.Cache;

/// <summary>Whether a unit can be skipped, and if not, why.</summary>
public sealed record UnitStatus(StageUnit Unit, bool UpToDate, IReadOnlyList<string> Reasons);
