using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Tta.Bench;

/// <summary>
/// Bench <c>--only=noop</c>: for corpora of several sizes (<c>--texts</c>, default 50, 500 and 2,000 sentences), the
/// full <c>./build.sh</c> of a MiniLM similarity experiment from an empty cache, then its no-op rerun (median of 3),
/// beside a Snakemake no-op of a DAG of the same shape: a download rule, per text extract → metrics → figures, one
/// aggregate rule over every text (tta: Download, Extract, Metrics and Figures units, the explorer), every job a touch
/// run inside Snakemake's own process. Snakemake comes from PyPI into a virtual environment under the work folder.
/// </summary>
public static class NoOpBenchmark
{
    public const string SnakemakeVersion = "9.27.1";

    public static void Run(TextWriter log, string work, string root, IReadOnlyList<int> sizes)
    {
        var dir = Path.Combine(Path.GetFullPath(work), "tta-bench-noop");
        Directory.CreateDirectory(dir);
        var snakemake = Snakemake(dir, log);
        foreach (var texts in sizes)
        {
            var project = Path.Combine(dir, $"texts-{texts}");
            if (Directory.Exists(project)) Directory.Delete(project, recursive: true);
            Directory.CreateDirectory(project);
            var experiment = CorpusBenchmark.WriteExperiment(project, $"bench-noop-{texts}", texts);
            string[] args = [$"--experiment={experiment}", $"--cache={Path.Combine(project, "cache")}", $"--figures={Path.Combine(project, "figures")}"];
            var build = Path.Combine(root, "build.sh");
            var loadBefore = CorpusBenchmark.LoadAverage();
            var full = Timed(build, args, root);
            var noOp = Median(3, () => Timed(build, args, root));
            double? theirs = null;
            if (snakemake is not null)
            {
                var flow = Snakefile(project, texts);
                Timed(snakemake, ["--cores", "2", "--quiet"], flow); // the full (touch) run
                theirs = Median(3, () => Timed(snakemake, ["--cores", "2", "--quiet"], flow));
            }
            log.WriteLine(Invariant($"noop: {texts} texts ({3 * texts + 2} units): full ./build.sh {full:0.0} s, no-op {noOp:0.00} s") +
                      (theirs is { } s ? Invariant($" vs snakemake {Version(snakemake!)} no-op {s:0.00} s → {noOp / s:0.00}× (goal ≤ 1.5×)") : " (no snakemake)") +
                      $"; load average {loadBefore} before, {CorpusBenchmark.LoadAverage()} after");
            Directory.Delete(Path.Combine(project, "figures"), recursive: true); // thousands of PNGs, not needed again
        }
    }

    /// <summary>
    /// Snakemake's entry point: the work folder's virtual environment (made and filled from PyPI on first use), else
    /// Debian's <c>/usr/bin/snakemake</c> (installed with apt-get when run as root and missing), else null (said in the log).
    /// </summary>
    private static string? Snakemake(string dir, TextWriter log)
    {
        var venv = Path.Combine(dir, "snakemake-venv");
        var program = Path.Combine(venv, "bin", "snakemake");
        if (File.Exists(program)) return program;
        log.WriteLine($"noop: installing snakemake {SnakemakeVersion} from PyPI into {venv} (needs python3 ≥ 3.11)");
        var (code, stdout, stderr) = NpmPackages.Run("python3", ["-m", "venv", venv], dir, TimeSpan.FromMinutes(5));
        if (code == 0)
            (code, stdout, stderr) = NpmPackages.Run(Path.Combine(venv, "bin", "pip"),
                ["install", "--quiet", "--retries=1", "--timeout=30", $"snakemake=={SnakemakeVersion}"], dir, TimeSpan.FromMinutes(10));
        if (code == 0 && File.Exists(program)) return program;
        // No PyPI (as on this project's machines): Debian's package, installed as build.sh installs its own (root, apt).
        if (!File.Exists("/usr/bin/snakemake") && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"))
        {
            log.WriteLine("noop: installing Debian's snakemake (apt-get install snakemake)");
            NpmPackages.Run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "snakemake"], "/", TimeSpan.FromMinutes(15));
        }
        var debian = File.Exists("/usr/bin/snakemake") ? "/usr/bin/snakemake" : null;
        log.WriteLine($"noop: pip could not install snakemake (exit {code}): {stderr.Trim().Split('\n')[^1]}; " +
                      (debian is null ? "no Snakemake baseline (apt-get install snakemake gives Debian's)" : $"using {debian} ({Version(debian)})"));
        return debian;
    }

    internal static double Median(int n, Func<double> measure)
    {
        var times = Enumerable.Range(0, n).Select(_ => measure()).Order().ToList();
        return times[n / 2];
    }

    /// <summary>The wall time of <paramref name="program"/> run to its end (it must succeed).</summary>
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
        if (p.ExitCode != 0) throw new InvalidOperationException($"bench noop: {program} failed (exit {p.ExitCode}):\n{output.Result}{error.Result}");
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>The version a snakemake prints, for the log beside its times.</summary>
    public static string Version(string snakemake) => NpmPackages.Run(snakemake, ["--version"], "/", TimeSpan.FromMinutes(1)).Stdout.Trim();

    /// <summary>A Snakemake workflow of tta's DAG shape for <paramref name="texts"/> texts, its inputs written; returns its folder.</summary>
    private static string Snakefile(string project, int texts)
    {
        var flow = Path.Combine(project, "snakemake");
        Directory.CreateDirectory(Path.Combine(flow, "texts"));
        foreach (var (sentence, i) in SentenceCorpus.Sentences(texts).Select((s, i) => (s, i)))
            File.WriteAllText(Path.Combine(flow, "texts", $"s-{i + 1}.txt"), sentence);
        File.WriteAllText(Path.Combine(flow, "Snakefile"), new StringBuilder($$"""
            from pathlib import Path
            TEXTS = [f"s-{i}" for i in range(1, {{texts}} + 1)]
            def touch(paths):
                for p in paths:
                    Path(p).parent.mkdir(parents=True, exist_ok=True)
                    Path(p).touch()
            rule all:
                input: "figures/index.html"
            rule download:
                output: "cache/download/model.safetensors"
                run: touch(output)
            rule extract:
                input: "cache/download/model.safetensors", "texts/{t}.txt"
                output: "cache/extract/{t}.parquet"
                run: touch(output)
            rule metrics:
                input: "cache/extract/{t}.parquet"
                output: "cache/metrics/{t}.parquet"
                run: touch(output)
            rule figures:
                input: "cache/metrics/{t}.parquet"
                output: "figures/{t}.png"
                run: touch(output)
            rule aggregate:
                input: expand("figures/{t}.png", t=TEXTS)
                output: "figures/index.html"
                run: touch(output)

            """).ToString());
        return flow;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
