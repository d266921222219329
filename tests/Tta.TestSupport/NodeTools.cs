using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// Node packages that tests run as references (installed once with npm into .tools/npm/, which git ignores). Where
/// node or npm is missing the test is skipped with a note, except in CI (CI=true), where that is a failure.
/// </summary>
public static class NodeTools
{
    private static readonly object Gate = new();

    /// <summary>The node executable and the installed package folder of <paramref name="spec"/> (name@version), or null.</summary>
    public static (string Node, string Package)? Require(string spec, ITestOutputHelper log)
    {
        var name = spec[..spec.LastIndexOf('@')];
        var dir = Path.Combine(Repo.Root, ".tools", "npm", spec.Replace('/', '_').Replace('@', '_'));
        var package = Path.Combine(dir, "node_modules", name);
        lock (Gate)
        {
            var node = Which("node");
            var npm = Which("npm");
            if (node is null || (npm is null && !File.Exists(Path.Combine(package, "package.json"))))
                return Missing($"node or npm is not installed, so {spec} cannot run", log);
            if (!File.Exists(Path.Combine(package, "package.json")))
            {
                Directory.CreateDirectory(dir);
                var (code, output) = TtaProcess.Run(TtaProcess.Command(npm!, ["install", "--prefix", dir, "--no-audit", "--no-fund", "--silent", spec]), TimeSpan.FromMinutes(5));
                if (code != 0 || !File.Exists(Path.Combine(package, "package.json")))
                    return Missing($"npm install {spec} failed ({code}): {output}", log);
            }
            return (node, package);
        }
    }

    private static (string, string)? Missing(string why, ITestOutputHelper log)
    {
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true", why);
        log.WriteLine("SKIPPED: " + why);
        return null;
    }

    private static string? Which(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, command)).FirstOrDefault(File.Exists);
}
