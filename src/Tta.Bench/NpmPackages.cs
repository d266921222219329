using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Tta.Bench;

/// <summary>
/// The node packages of a folder in the repository (the tokenizer oracle, the ONNX Runtime harness), pinned by its
/// package-lock.json and installed with <c>npm ci</c> on first use and again when the lock file changes.
/// </summary>
public static class NpmPackages
{
    private static readonly Lock InstallLock = new();

    /// <summary>
    /// Installs <paramref name="dir"/>'s packages unless its stamp says they are current. Throws
    /// <see cref="InvalidOperationException"/> naming the fix when node or npm is missing or fails.
    /// </summary>
    public static void Ensure(string dir, TextWriter log, IReadOnlyDictionary<string, string>? environment = null)
    {
        var lockFile = Path.Combine(dir, "package-lock.json");
        if (!File.Exists(lockFile)) throw new FileNotFoundException($"{lockFile}: the node packages' lock file is missing from the repository");
        var stamp = Path.Combine(dir, "node_modules", ".tta-installed");
        var want = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(lockFile)));
        lock (InstallLock)
        {
            if (File.Exists(stamp) && File.ReadAllText(stamp) == want) return;
            log.WriteLine($"npm ci in {dir}");
            var (code, stdout, stderr) = Run("npm", ["ci", "--no-audit", "--no-fund"], dir, TimeSpan.FromMinutes(10), environment);
            if (code != 0)
                throw new InvalidOperationException($"npm ci in {dir} failed (exit {code}); node 20 and npm must be installed and the npm registry reachable:\n{stdout}{stderr}");
            File.WriteAllText(stamp, want);
        }
    }

    /// <summary>Runs a program to its end (or <paramref name="timeout"/>, exit −1) and returns its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{file}' is not installed ({e.Message}); node 20 and npm are needed", e);
        }
        using (process)
        {
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return (-1, stdout.ToString(), $"timed out after {timeout}\n{stderr}");
            }
            process.WaitForExit();
            return (process.ExitCode, stdout.ToString(), stderr.ToString());
        }
    }
}
