namespace Tta.Cache;

/// <summary>
/// What a unit needs while it runs, for scheduling (<c>--jobs</c>, <c>--memory-limit</c>, Slurm's <c>--mem</c> and
/// <c>--gres</c>): memory of its own (<see cref="WorkingBytes"/>) and of a model it shares with other units of the
/// same process (<see cref="ModelKey"/>, <see cref="ModelBytes"/>: counted once while any of them runs).
/// <see cref="Torch"/> units compute with libtorch: one runs at a time per process, on all of libtorch's threads,
/// because libtorch's kernels round differently on one thread than on several, and two units computing at once
/// split its thread pool — the bytes would then depend on <c>--jobs</c>. The process's <see cref="TorchGate"/> keeps
/// them apart: held around a <see cref="Torch"/> unit's whole <c>Run</c>, or, for a unit with
/// <see cref="TorchSections"/>, only around the libtorch work it does, so its reading and writing overlap another
/// unit's forward pass. Other units (figures) run beside them.
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
