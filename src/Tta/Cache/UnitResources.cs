namespace Tta.Cache;

/// <summary>
/// What a unit needs while it runs, for scheduling (<c>--jobs</c>, <c>--memory-limit</c>, Slurm's <c>--mem</c> and
/// <c>--gres</c>): memory of its own (<see cref="WorkingBytes"/>) and of a model it shares with other units of the
/// same process (<see cref="ModelKey"/>, <see cref="ModelBytes"/>: counted once while any of them runs).
/// <see cref="Torch"/> units compute with libtorch, each computing thread with its own team of libtorch's
/// max(2, cores) intra-op threads (<c>TorchThreads</c>): kernels split work by that count, not by what else runs, so
/// units computing at once give the bytes they give alone (libtorch rounds differently only on a single thread).
/// They mark their libtorch work with the process's <see cref="TorchGate"/>: around a <see cref="Torch"/> unit's
/// whole <c>Run</c>, or, for a unit with <see cref="TorchSections"/>, only around the libtorch work it does.
/// </summary>
public sealed record UnitResources(long WorkingBytes, string? ModelKey = null, long ModelBytes = 0, bool Gpu = false, bool Torch = false,
    bool TorchSections = false)
{
    /// <summary>A unit that reads and writes files of a few hundred MB at most.</summary>
    public static readonly UnitResources Small = new(256L << 20);

    /// <summary>The same, computing with libtorch.</summary>
    public static readonly UnitResources SmallTorch = Small with { Torch = true };

    /// <summary>The same, entering <see cref="RunContext.Torch"/> itself around each piece of its libtorch work.</summary>
    public static readonly UnitResources SmallTorchSections = SmallTorch with { TorchSections = true };

    public long TotalBytes => WorkingBytes + ModelBytes;
}
