using System.Diagnostics;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// What the test clusters of tests/slurm (cluster.sh, multinode.sh) share: running a verb of their script, the root
/// check their daemons need, and saying SKIPPED (or failing, in CI) when a cluster cannot be started.
/// </summary>
public static class ClusterScript
{
    public static string PathOf(string name) => Path.Combine(Repo.Root, "tests", "slurm", name);

    public static bool IsRoot() =>
        File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            ?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0";

    /// <summary>Runs <c>bash SCRIPT ARGS…</c>; its exit code (-1 when it timed out) and all its output.</summary>
    public static (int Code, string Output) Run(string script, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout.TotalSeconds:0} s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>True when the cluster runs; otherwise writes SKIPPED (or fails in CI, CI=true).</summary>
    public static bool Check(string name, string? unavailable, double? startSeconds, ITestOutputHelper output)
    {
        if (unavailable is null)
        {
            if (startSeconds is { } s)
                output.WriteLine($"{name} started in {s:0.0} s");
            return true;
        }
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"the {name} is unavailable: " + unavailable);
        output.WriteLine($"SKIPPED: the {name} is unavailable, so this check did not run: " + unavailable);
        return false;
    }
}
