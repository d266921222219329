namespace Tta.Execution.Slurm;

/// <summary>
/// One task of a job array: its key (used in reports), its command line (program and arguments, as a process
/// receives them; no shell is involved in building it) and the units it runs (<see cref="Units"/>: several when a
/// task serves a group of units that share a model; the key alone when not given).
/// </summary>
public sealed record SlurmTask(string Key, IReadOnlyList<string> Command)
{
    private readonly IReadOnlyList<string>? units;

    public IReadOnlyList<string> Units
    {
        get => units ?? [Key];
        init => units = value;
    }
}
