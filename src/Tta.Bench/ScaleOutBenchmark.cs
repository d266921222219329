using System.Diagnostics;
using System.Globalization;
using Tta.Models;

namespace Tta.Bench;

/// <summary>
/// Bench <c>--only=scaleout</c>, side by side in one run:
/// <list type="bullet">
/// <item>the default experiment with a fourth text, built from scratch (its model converted once beforehand, in
/// each cache) at <c>--jobs=1</c> and <c>--jobs=2</c>: wall time of the one <c>tta-cli run</c> that builds Extract
/// through Figures, best of <c>repeats</c>;</item>
/// <item>the no-op rerun of <c>./build.sh</c> on it, beside a Snakemake no-op of the same shape (download → extract,
/// metrics, figures per text → report, each rule touching its output), median of 5.</item>
/// </list>
/// </summary>
public static class ScaleOutBenchmark
{
    public static void Run(TextWriter log, string work, string root, int repeats = 3)
    {
        var dir = Path.Combine(work, $"tta-bench-scaleout-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var experiment = FourTextExperiment(root, dir);
            var best = new Dictionary<int, double>();
            string? cache = null, figures = null;
            // Interleaved (1, 2, 1, 2, …), so a machine that slows down or speeds up during the bench affects both alike.
            for (var r = 0; r < repeats; r++)
                foreach (var jobs in new[] { 1, 2 })
                {
                    cache = Path.Combine(dir, $"jobs{jobs}-{r}", "cache");
                    figures = Path.Combine(dir, $"jobs{jobs}-{r}", "figures");
                    string[] common = [$"--root={root}", $"--experiment={experiment}", $"--cache={cache}", $"--figures={figures}"];
                    Check(CliProcess.Run(["run", "--stage=Download", .. common]));
                    var run = Check(CliProcess.Run(["run", "--stage=Extract", "--through=Figures", $"--jobs={jobs}", .. common]));
                    best[jobs] = Math.Min(best.GetValueOrDefault(jobs, double.MaxValue), run.Seconds);
                    log.WriteLine(Invariant($"scaleout: default experiment, 4 texts, Extract through Figures, --jobs={jobs}: {run.Seconds:0.00} s"));
                }
            log.WriteLine(Invariant($"scaleout: --jobs=1 {best[1]:0.00} s vs --jobs=2 {best[2]:0.00} s (best of {repeats}) → {best[1] / best[2]:0.00}× faster on {Environment.ProcessorCount} cores (goal ≥ 1.6× on 2)"));

            // No-op: ./build.sh on the last (complete) cache, against Snakemake on a workflow of the same shape.
            string[] buildArgs = [$"--experiment={experiment}", $"--cache={cache}", $"--figures={figures}"];
            Timed(Path.Combine(root, "build.sh"), buildArgs, root);
            var ours = Median(5, () => Timed(Path.Combine(root, "build.sh"), buildArgs, root));
            var snakemake = SnakemakeNoOp(dir, texts: 4);
            log.WriteLine(snakemake is { } s
                ? Invariant($"scaleout: no-op rerun, ./build.sh {ours:0.00} s vs snakemake {s:0.00} s (median of 5) → {ours / s:0.00}× (goal ≤ 1.5×)")
                : Invariant($"scaleout: no-op rerun, ./build.sh {ours:0.00} s (median of 5); snakemake is not installed (apt-get install snakemake) so there is no baseline"));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>experiments/default.yaml with its texts by absolute path and a fourth text (the first one again).</summary>
    private static string FourTextExperiment(string root, string dir)
    {
        var texts = Path.Combine(root, "experiments", "texts");
        var yaml = File.ReadAllText(Path.Combine(root, "experiments", "default.yaml"))
            .Replace("name: default", "name: bench-scaleout", StringComparison.Ordinal)
            .Replace("file: texts/", $"file: {texts}/", StringComparison.Ordinal)
            .Replace("texts:\n", $"texts:\n  - name: prose-again\n    file: {texts}/prose.txt\n", StringComparison.Ordinal);
        var path = Path.Combine(dir, "bench-scaleout.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static CliRun Check(CliRun run) =>
        run.ExitCode == 0 ? run : throw new InvalidOperationException($"bench scaleout: tta-cli failed (exit {run.ExitCode}):\n{run.Output}");

    internal static double Median(int n, Func<double> measure)
    {
        var times = Enumerable.Range(0, n).Select(_ => measure()).Order().ToList();
        return times[n / 2];
    }

    internal static double Timed(string program, IEnumerable<string> args, string workingDirectory)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove(Cache.RunLock.HeldVariable);
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"bench scaleout: {program} failed (exit {p.ExitCode}):\n{output.Result}{error.Result}");
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>The median no-op time of Snakemake on a workflow of our shape, or null where snakemake is missing.</summary>
    private static double? SnakemakeNoOp(string dir, int texts)
    {
        var snakemake = new[] { "/usr/bin/snakemake", "/usr/local/bin/snakemake" }.FirstOrDefault(File.Exists);
        if (snakemake is null) return null;
        var flow = Path.Combine(dir, "snakemake");
        Directory.CreateDirectory(Path.Combine(flow, "texts"));
        var names = Enumerable.Range(1, texts).Select(i => $"t{i}").ToList();
        foreach (var t in names) File.WriteAllText(Path.Combine(flow, "texts", t + ".txt"), t);
        File.WriteAllText(Path.Combine(flow, "Snakefile"), $$"""
            TEXTS = [{{string.Join(", ", names.Select(n => $"\"{n}\""))}}]
            rule all:
                input: expand("figures/{t}.done", t=TEXTS), "figures/index.html"
            rule download:
                output: "cache/download/model.safetensors"
                shell: "touch {output}"
            rule extract:
                input: "cache/download/model.safetensors", "texts/{t}.txt"
                output: "cache/extract/{t}.parquet"
                shell: "touch {output}"
            rule metrics:
                input: "cache/extract/{t}.parquet"
                output: "cache/metrics/{t}.parquet"
                shell: "touch {output}"
            rule figures:
                input: "cache/metrics/{t}.parquet"
                output: "figures/{t}.done"
                shell: "touch {output}"
            rule report:
                input: expand("figures/{t}.done", t=TEXTS)
                output: "figures/index.html"
                shell: "touch {output}"

            """);
        string[] args = ["--cores", "1", "--quiet"];
        Timed(snakemake, args, flow);
        return Median(5, () => Timed(snakemake, args, flow));
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
