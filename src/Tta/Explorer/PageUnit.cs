namespace Tta.Explorer;

/// <summary>
/// A stage unit the page was made from, as its manifest records it. Not its run time: a rerun that changes nothing
/// but the time does not rebuild the page.
/// </summary>
public sealed record PageUnit(string Stage, string Unit, string Fingerprint, int Outputs);
