namespace Tta.Execution.Slurm;

/// <summary>One array task as squeue lists it.</summary>
public sealed record SlurmQueueEntry(string JobId, int Index, string State, string Reason);
