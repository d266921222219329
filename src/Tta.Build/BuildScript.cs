using Tta.Config;
using Tta.Execution;

namespace Tta.Build;

/// <summary>
/// What build/build.cake asks before it runs anything (Cake loads Tta.Build.dll, so these run in its own process, no
/// extra process per run): the whole command line checked, target, options and, for targets that run
/// stages, the experiments and option values, before the run lock is taken or any folder is made.
/// </summary>
public static class BuildScript
{
    /// <summary>Exit code of a rejected command line (as tta-cli's bad input).</summary>
    public const int BadInput = 2;

    /// <summary>The error for a ./build.sh command line, or null when it may run.</summary>
    /// <param name="given">every option as given (name, value; value null for a bare <c>--name</c>).</param>
    public static string? Problem(string target, IReadOnlyList<(string Name, string? Value)> given, string root)
    {
        if (KnownTargets.Problem(target) is { } unknownTarget) return unknownTarget;
        if (KnownOptions.Problem(given) is { } option) return option;
        if (KnownOptions.NotForTarget(given, KnownTargets.Find(target)!.Name) is { } misplaced) return misplaced;
        bool Has(string name) => given.Any(g => string.Equals(g.Name, name, StringComparison.OrdinalIgnoreCase));
        string? Get(string name) => given.LastOrDefault(g => string.Equals(g.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
        // Test's lane is checked here too, so a bad one is bad input (exit 2) like every other option value.
        if (Get("lane") is { } lane && lane is not ("fast" or "full")) return $"--lane must be fast or full, not '{lane}'";
        if (!KnownTargets.Find(target)!.RunsStages)
            return Has("dry-run")
                ? $"--dry-run lists what a run would build; it applies to the targets that run stages ({string.Join(", ", KnownTargets.All.Where(t => t.RunsStages).Select(t => t.Name))}), not {KnownTargets.Find(target)!.Name}"
                : null;
        var experiments = given.Where(g => string.Equals(g.Name, "experiment", StringComparison.OrdinalIgnoreCase) && g.Value is not null)
            .SelectMany(g => g.Value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        try
        {
            RunInputs.Check(root, Get, experiments,
                [.. given.Where(g => string.Equals(g.Name, "force-stage", StringComparison.OrdinalIgnoreCase) && g.Value is not null).Select(g => g.Value!)]);
            return null;
        }
        catch (Exception e) when (e is ConfigException or ArgumentException or FormatException or IOException or InvalidDataException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// The options Cake passes on to the tta-cli verbs that read experiments (plan, run, archive, clean): those of
    /// <paramref name="given"/> the table marks <see cref="KnownOption.Forwarded"/>, as <c>--name=value</c> (every value
    /// of a repeatable one, else the last) or <c>--name</c>.
    /// </summary>
    public static IReadOnlyList<string> ForwardedArgs(IReadOnlyList<(string Name, string? Value)> given)
    {
        var args = new List<string>();
        foreach (var option in KnownOptions.All.Where(o => o.Forwarded))
        {
            var values = given.Where(g => string.Equals(g.Name, option.Name, StringComparison.OrdinalIgnoreCase)).Select(g => g.Value).ToList();
            if (values.Count == 0) continue;
            if (!option.TakesValue) args.Add($"--{option.Name}");
            else if (option.Repeatable) args.AddRange(values.OfType<string>().Select(v => $"--{option.Name}={v}"));
            else args.Add($"--{option.Name}={values[^1]}");
        }
        return args;
    }

    /// <summary>
    /// Whether <paramref name="built"/> (a program's assembly) is newer than every source file under src/ and
    /// build/native/ (build outputs aside), as build.sh decides for tta-cli. The Bench and Synth targets build tta-bench
    /// only when it is not: a build of it would republish the tta-cli folder it references, under any tta-cli process
    /// running beside it (the README lane runs Synth while other tests run ./build.sh).
    /// </summary>
    public static bool IsNewerThanSources(string root, string built)
    {
        if (!File.Exists(built)) return false;
        var stamp = File.GetLastWriteTimeUtc(built);
        static bool IsOutput(string path) => path.Split(Path.DirectorySeparatorChar) is var parts && (parts.Contains("bin") || parts.Contains("obj"));
        return !new[] { "src", Path.Combine("build", "native") }.Select(d => Path.Combine(root, d)).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Any(f => !IsOutput(Path.GetRelativePath(root, f)) && File.GetLastWriteTimeUtc(f) > stamp);
    }

    /// <summary>
    /// Starts <c>dotnet CLI ARGUMENTS --root=ROOT</c> sharing this console, and returns without waiting (Cake's own
    /// process alias kills a process whose timed wait runs out, so the stage tasks wait on this one instead).
    /// Tiered PGO is on again for it (build.sh turns it off for the short processes).
    /// </summary>
    public static System.Diagnostics.Process StartRun(string cliDll, IEnumerable<string> arguments, string root)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = root, UseShellExecute = false };
        start.ArgumentList.Add(cliDll);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.ArgumentList.Add($"--root={root}");
        start.Environment["DOTNET_TieredPGO"] = "1";
        return System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"could not start dotnet {cliDll}");
    }

    /// <summary><see cref="RunJournal.WaitFor"/> on the run process <paramref name="run"/>.</summary>
    public static RunJournal.StageOutcome WaitFor(string journal, string stage, System.Diagnostics.Process run) =>
        RunJournal.WaitFor(journal, stage, wait => run.WaitForExit(wait) ? run.ExitCode : null);
}
