namespace Tta.Core;

/// <summary>A file's identity for the fast staleness check: its real path, size and modification time.</summary>
public readonly record struct FileStamp(string Path, long Bytes, long MtimeTicks);
