namespace Tta.Execution.Slurm;

/// <summary>A Slurm command failed, timed out or is missing; the message names the command and what it printed.</summary>
public sealed class SlurmException(string message) : Exception(message);
