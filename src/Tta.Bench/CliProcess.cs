using System.Diagnostics;
using System.Globalization;
using Tta.Models;
using Tta.Core;

namespace Tta.Bench;

/// <summary>One finished tta-cli child process: exit code, wall time, peak resident memory (VmHWM) and its output.</summary>
public sealed record CliRun(int ExitCode, double Seconds, long PeakBytes, string Output);

/// <summary>
/// Runs tta-cli (the assembly beside this one) as a child process, measuring its wall time and, through
/// <see cref="ProcessMemory.PeakFileVariable"/>, its exact peak RSS. Bench and the GC-storm test use it, so what they
/// measure is a real process as build.sh starts it.
/// </summary>
public static class CliProcess
{
    public static string CliPath => Path.Combine(AppContext.BaseDirectory, "tta-cli.dll");

    /// <summary>tta-bench itself, for a baseline child that runs the bench's own code (bench --child=forward).</summary>
    public static string BenchPath => Path.Combine(AppContext.BaseDirectory, "tta-bench.dll");

    /// <param name="assembly">the program to run: <see cref="CliPath"/> (the default) or <see cref="BenchPath"/>.</param>
    public static CliRun Run(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null,
        string? assembly = null)
    {
        var peakFile = Path.Combine(Path.GetTempPath(), $"tta-peak-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly ?? CliPath);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove(Cache.RunLock.HeldVariable); // the child takes its own workspace's lock
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        start.Environment[ProcessMemory.PeakFileVariable] = peakFile;
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(30)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileNameWithoutExtension(assembly ?? CliPath)} {string.Join(' ', args)} did not finish in time:\n{output}");
        }
        process.WaitForExit(); // drain the output
        var seconds = watch.Elapsed.TotalSeconds;
        long peak = 0;
        if (File.Exists(peakFile))
        {
            peak = long.Parse(File.ReadAllText(peakFile), CultureInfo.InvariantCulture);
            File.Delete(peakFile);
        }
        lock (output) return new CliRun(process.ExitCode, seconds, peak, output.ToString());
    }
}
