using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Tta.Pipeline;

namespace Tta.Archive;

/// <summary>Where and with what a run happened: tool and package versions, git commit, machine.</summary>
public static class RunEnvironment
{
    /// <summary>Version of the assembly that holds <paramref name="type"/> (informational version if set).</summary>
    public static string VersionOf(Type type)
    {
        var asm = type.Assembly;
        return asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
               ?? asm.GetName().Version?.ToString() ?? "unknown";
    }

    public static string TtaVersion => VersionOf(typeof(Stages));

    /// <summary>The libraries whose behaviour decides the outputs, by package name.</summary>
    public static IReadOnlyDictionary<string, string> Packages() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["TorchSharp"] = VersionOf(typeof(TorchSharp.torch)),
        ["Parquet.Net"] = VersionOf(typeof(Parquet.ParquetWriter)),
        ["ScottPlot"] = VersionOf(typeof(ScottPlot.Plot)),
        ["SkiaSharp"] = VersionOf(typeof(SkiaSharp.SKBitmap)),
        ["YamlDotNet"] = VersionOf(typeof(YamlDotNet.RepresentationModel.YamlStream)),
        ["Microsoft.ML.Tokenizers"] = VersionOf(typeof(Microsoft.ML.Tokenizers.Tokenizer)),
    };

    public static JsonObject Tools()
    {
        var packages = new JsonObject();
        foreach (var (k, v) in Packages()) packages[k] = v;
        return new JsonObject
        {
            ["tta"] = TtaVersion,
            ["torch_backend"] = Stages.TorchBackend,
            ["dotnet_runtime"] = RuntimeInformation.FrameworkDescription,
            ["dotnet_version"] = Environment.Version.ToString(),
            ["packages"] = packages,
        };
    }

    public static JsonObject Machine() => new()
    {
        ["os"] = RuntimeInformation.OSDescription,
        ["os_platform"] = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "macos" : OperatingSystem.IsWindows() ? "windows" : "other",
        ["architecture"] = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
        ["runtime_identifier"] = RuntimeInformation.RuntimeIdentifier,
        ["cpu_count"] = Environment.ProcessorCount,
        ["memory_bytes"] = MemoryBytes(),
    };

    /// <summary>Physical memory: MemTotal of /proc/meminfo on Linux, else what the GC sees as available.</summary>
    public static long MemoryBytes()
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    {
                        var kb = line["MemTotal:".Length..].Trim().Split(' ')[0];
                        return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                    }
        }
        catch (IOException) { }
        catch (FormatException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary><c>git rev-parse HEAD</c> in <paramref name="dir"/> and whether tracked files differ; null without git.</summary>
    public static JsonObject? Git(string dir)
    {
        var commit = RunGit(dir, "rev-parse", "HEAD");
        if (commit is null || commit.Length < 7) return null;
        var status = RunGit(dir, "status", "--porcelain", "--untracked-files=no");
        return new JsonObject { ["commit"] = commit, ["dirty"] = status is null ? null : status.Length > 0 };
    }

    private static string? RunGit(string dir, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo("git")
            {
                WorkingDirectory = dir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var p = Process.Start(start);
            if (p is null) return null;
            var stdout = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(10_000))
            {
                p.Kill(entireProcessTree: true);
                return null;
            }
            return p.ExitCode == 0 ? stdout.GetAwaiter().GetResult().Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // git not installed
        catch (InvalidOperationException) { return null; }
    }
}
