using System.Diagnostics;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// The multi-node Slurm cluster of tests/slurm/multinode.sh: slurmctld and three slurmd nodes, each in its own
/// network namespace on a bridge the script creates. Started once for the "slurm-nodes" collection (after clearing
/// whatever an earlier, killed test left) and stopped in <see cref="Dispose"/>, which also fails when any process,
/// namespace or link of the cluster is left. Client tools and tta runs that submit run in the controller's namespace
/// (<see cref="InController"/>). Not root: the tests say SKIPPED; in CI (CI=true) they fail instead.
/// </summary>
public sealed class SlurmNodes : IDisposable
{
    public const string ControllerNamespace = "ttan-ctl";
    public static readonly string Script = ClusterScript.PathOf("multinode.sh");
    public static readonly string[] Nodes = ["node1", "node2", "node3"];

    public SlurmNodes()
    {
        var state = Environment.GetEnvironmentVariable("TTA_SLURM_NODES_DIR") ?? "/tmp/tta-slurm-nodes";
        SlurmConf = Path.Combine(state, "slurm.conf");
        if (!ClusterScript.IsRoot())
        {
            Unavailable = "the tests are not running as root, which network namespaces and the Slurm daemons need";
            return;
        }
        var sw = Stopwatch.StartNew();
        var (code, output) = ClusterScript.Run(Script, TimeSpan.FromMinutes(5), "start");
        StartSeconds = sw.Elapsed.TotalSeconds;
        if (code != 0)
            Unavailable = $"tests/slurm/multinode.sh start failed (exit {code}):\n{output}";
    }

    public string SlurmConf { get; }

    /// <summary>Why the cluster could not be started; null when it runs.</summary>
    public string? Unavailable { get; }

    public double? StartSeconds { get; }

    public bool Check(ITestOutputHelper output) => ClusterScript.Check("multi-node Slurm cluster", Unavailable, StartSeconds, output);

    /// <summary>
    /// A command in the controller's network namespace with the cluster's SLURM_CONF: only the network is switched
    /// (nsenter), so it sees the same files, and its Slurm jobs inherit its environment (sbatch's --export=ALL).
    /// </summary>
    public ProcessStartInfo InController(string file, IEnumerable<string> args) =>
        TtaProcess.Command("nsenter", [$"--net=/run/netns/{ControllerNamespace}", file, .. args],
            new Dictionary<string, string> { ["SLURM_CONF"] = SlurmConf });

    /// <summary>A Slurm client tool (scontrol, squeue, …) run in the controller's namespace; its stdout.</summary>
    public string Tool(string tool, params string[] args)
    {
        var (code, output) = TtaProcess.Run(InController(tool, args), TimeSpan.FromSeconds(60));
        return code == 0 ? output : throw new InvalidOperationException($"{tool} {string.Join(' ', args)}: exit {code}\n{output}");
    }

    /// <summary>multinode.sh VERB ARGS…; throws when it fails.</summary>
    public string Run(params string[] args)
    {
        var (code, output) = ClusterScript.Run(Script, TimeSpan.FromMinutes(2), args);
        return code == 0 ? output : throw new InvalidOperationException($"multinode.sh {string.Join(' ', args)}: exit {code}\n{output}");
    }

    /// <summary>What of the cluster exists: namespaces with their processes, links (multinode.sh leftovers).</summary>
    public static string Leftovers() => ClusterScript.Run(Script, TimeSpan.FromMinutes(1), "leftovers").Output.Trim();

    /// <summary>Stops everything the cluster started and fails when anything of it is left.</summary>
    public void Dispose()
    {
        if (Unavailable is not null && !ClusterScript.IsRoot())
            return;
        var (code, output) = ClusterScript.Run(Script, TimeSpan.FromMinutes(2), "stop");
        var left = Leftovers();
        if (code != 0 || left.Length > 0)
            throw new InvalidOperationException($"multinode.sh stop (exit {code}) left: {left}\n{output}");
    }
}
