namespace Tta.Cache;

/// <summary>
/// What a unit needs while it runs, for scheduling (<c>--jobs</c>, <c>--memory-limit</c>, Slurm's <c>--mem</c> and
/// <c>--gres</c>): memory of its own (<see cref="WorkingBytes"/>) and of a model it shares with other units of the
/// same process (<see cref="ModelKey"/>, <see cref="ModelBytes"/>: counted once while any of them runs).
/// <see cref="Torch"/> units compute with libtorch: one runs at a time per process, on all of libtorch's threads,
/// because libtorch's kernels round differently on one thread than on several, and two units computing at once
/// split its thread pool — the bytes would then depend on <c>--jobs</c>. Other units (figures) run beside it.
/// </summary>
public sealed record UnitResources(long WorkingBytes, string? ModelKey = null, long ModelBytes = 0, bool Gpu = false, bool Torch = false)
{
    /// <summary>A unit that reads and writes files of a few hundred MB at most.</summary>
    public static readonly UnitResources Small = new(256L << 20);

    /// <summary>The same, computing with libtorch.</summary>
    public static readonly UnitResources SmallTorch = Small with { Torch = true };

    public long TotalBytes => WorkingBytes + ModelBytes;
}
