using Tta.Cache;

namespace Tta.Execution;

/// <summary>What happened to one unit in a run: skipped as up to date, or ran (and how long it took).</summary>
public sealed record UnitOutcome(StageUnit Unit, bool Ran, double Seconds);
