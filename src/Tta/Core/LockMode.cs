namespace Tta.Core;

/// <summary>How a lock (<c>Cache.RunLock</c>, <see cref="Flock"/>) is held: shared by several holders, or by one alone.</summary>
public enum LockMode
{
    Shared,
    Exclusive,
}
