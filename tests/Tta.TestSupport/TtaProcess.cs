using System.Diagnostics;

namespace Tta.Tests;

/// <summary>Real processes for reliability tests: tta-cli (the build of this test run) and other commands.</summary>
public static class TtaProcess
{
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "tta-cli.dll");

    /// <summary>A start description for <c>dotnet tta-cli.dll ARGS</c> (no run lock inherited from the test's environment).</summary>
    public static ProcessStartInfo Cli(IEnumerable<string> args, IDictionary<string, string>? env = null) =>
        Command("dotnet", [CliDll, .. args], env);

    public static ProcessStartInfo Command(string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("TTA_RUN_LOCK");
        start.Environment.Remove("HF_TOKEN");
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
        return start;
    }

    /// <summary>Runs a process to its end (or kills it after <paramref name="timeout"/>); exit code and all output.</summary>
    public static (int Code, string Output) Run(ProcessStartInfo start, TimeSpan? timeout = null)
    {
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, output.Result + error.Result + "\n(killed: timed out)");
        }
        return (p.ExitCode, output.Result + error.Result);
    }

    public static (int Code, string Output) RunCli(TinyWorkspace ws, string verb, string[] extra, IDictionary<string, string>? env = null) =>
        Run(Cli(ws.Args(verb, extra), env));
}
