namespace Tta.Cache;

/// <summary>
/// What a unit needs while it runs, for scheduling (<c>--jobs</c>, <c>--memory-limit</c>, Slurm's <c>--mem</c> and
/// <c>--gres</c>): memory of its own (<see cref="WorkingBytes"/>) and of a model it shares with other units of the
/// same process (<see cref="ModelKey"/>, <see cref="ModelBytes"/>: counted once while any of them runs).
/// </summary>
public sealed record UnitResources(long WorkingBytes, string? ModelKey = null, long ModelBytes = 0, bool Gpu = false)
{
    /// <summary>A unit that reads and writes files of a few hundred MB at most.</summary>
    public static readonly UnitResources Small = new(256L << 20);

    public long TotalBytes => WorkingBytes + ModelBytes;
}
