using System.Diagnostics;
using Tta.Execution.Slurm;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// The real single-node Slurm cluster of tests/slurm/cluster.sh, started once for every test of the "slurm"
/// collection and stopped after them, unless it was already running (then whoever started it stops it).
/// Not root, or Slurm cannot be installed: the tests say SKIPPED; in CI (CI=true) they fail instead.
/// </summary>
public sealed class SlurmCluster : IDisposable
{
    private static readonly string Script = ClusterScript.PathOf("cluster.sh");
    private readonly bool _startedHere;

    public SlurmCluster()
    {
        var state = Environment.GetEnvironmentVariable("TTA_SLURM_DIR") ?? "/tmp/tta-slurm";
        SlurmConf = Path.Combine(state, "slurm.conf");
        Cli = new SlurmCli(SlurmConf);
        if (!ClusterScript.IsRoot())
        {
            Unavailable = "the tests are not running as root, which slurmctld and slurmd need here";
            return;
        }
        if (RunScript("status", TimeSpan.FromSeconds(30)).Code == 0)
            return;
        var sw = Stopwatch.StartNew();
        var (code, output) = RunScript("start", TimeSpan.FromMinutes(5));
        StartSeconds = sw.Elapsed.TotalSeconds;
        if (code != 0)
            Unavailable = $"tests/slurm/cluster.sh start failed (exit {code}):\n{output}";
        else
            _startedHere = true;
    }

    public string SlurmConf { get; }

    public SlurmCli Cli { get; }

    /// <summary>Why the cluster could not be started; null when it runs.</summary>
    public string? Unavailable { get; }

    public double? StartSeconds { get; }

    /// <summary>True when the cluster runs; otherwise writes SKIPPED (or fails in CI).</summary>
    public bool Check(ITestOutputHelper output) => ClusterScript.Check("Slurm test cluster", Unavailable, StartSeconds, output);

    public void Dispose()
    {
        if (_startedHere)
            RunScript("stop", TimeSpan.FromMinutes(2));
    }

    private static (int Code, string Output) RunScript(string verb, TimeSpan timeout) => ClusterScript.Run(Script, timeout, verb);
}
