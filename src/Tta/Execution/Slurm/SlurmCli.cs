using System.ComponentModel;
using System.Diagnostics;

namespace Tta.Execution.Slurm;

/// <summary>
/// Runs Slurm's client tools (sbatch, squeue, scontrol, scancel) with argument lists, never a shell string, so user
/// values (keys, paths, partition names) reach Slurm unchanged. <paramref name="slurmConf"/> sets SLURM_CONF for the
/// tools (a private cluster); null keeps the host's configuration.
/// </summary>
public sealed class SlurmCli(string? slurmConf = null, TimeSpan? commandTimeout = null)
{
    private readonly TimeSpan _timeout = commandTimeout ?? TimeSpan.FromSeconds(60);

    public string? SlurmConf { get; } = slurmConf;

    public SlurmCliResult Run(string tool, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        if (SlurmConf is not null)
            start.Environment["SLURM_CONF"] = SlurmConf;
        var commandLine = string.Join(' ', start.ArgumentList.Prepend(tool).Select(SlurmScripts.Quote));

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new SlurmException($"`{commandLine}` did not start");
        }
        catch (Win32Exception e)
        {
            throw new SlurmException($"{tool} is not available ({e.Message}): run tta on a host with the Slurm client " +
                "tools (the cluster's submit host), or install them (Debian: apt-get install slurm-client)");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(_timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new SlurmException($"`{commandLine}` did not answer within {_timeout.TotalSeconds:0} s " +
                    "(is slurmctld reachable from this host?)");
            }
            return new SlurmCliResult(commandLine, process.ExitCode, stdout.GetAwaiter().GetResult(),
                stderr.GetAwaiter().GetResult());
        }
    }
}
