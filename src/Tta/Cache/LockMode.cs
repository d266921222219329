namespace Tta.Cache;

/// <summary>How a <see cref="RunLock"/> is held: shared by several holders, or by one alone.</summary>
public enum LockMode
{
    Shared,
    Exclusive,
}
