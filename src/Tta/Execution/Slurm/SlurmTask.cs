namespace Tta.Execution.Slurm;

/// <summary>
/// One task of a job array: the unit it runs (<paramref name="Key"/>, used in reports) and its command line
/// (program and arguments, as a process receives them; no shell is involved in building it).
/// </summary>
public sealed record SlurmTask(string Key, IReadOnlyList<string> Command);
