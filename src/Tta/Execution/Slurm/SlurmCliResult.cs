namespace Tta.Execution.Slurm;

/// <summary>What one Slurm client command printed and how it exited.</summary>
public sealed record SlurmCliResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>"Invalid job id specified": every id asked about has left the controller (or never existed).</summary>
    public bool InvalidJobId => Stderr.Contains("Invalid job id specified", StringComparison.Ordinal);

    public SlurmCliResult ThrowOnFailure() =>
        Succeeded ? this : throw new SlurmException($"`{CommandLine}` failed (exit {ExitCode}): {Stderr.Trim()}");
}
