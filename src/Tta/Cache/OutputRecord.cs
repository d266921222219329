namespace Tta.Cache;

/// <summary>One output file of a unit, recorded so later runs can tell it is still the file this unit wrote.</summary>
public sealed record OutputRecord(string Path, string Sha256, long Bytes, long MtimeTicks);
