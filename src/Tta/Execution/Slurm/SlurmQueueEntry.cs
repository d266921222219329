namespace Tta.Execution.Slurm;

/// <summary>One array task as squeue lists it; <paramref name="Node"/> is where it runs or ran ("" while pending).</summary>
public sealed record SlurmQueueEntry(string JobId, int Index, string State, string Reason, string Node = "");
