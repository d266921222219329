using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tta.Execution;
using static TorchSharp.torch;

namespace Tta.Bench;

/// <summary>
/// Bench <c>--only=scaleout</c>: how busy the local executor keeps the cores, from scratch at <c>--jobs=1</c> and
/// <c>--jobs=N</c> (N = the cores, or <c>--jobs</c>), on two workloads:
/// <list type="bullet">
/// <item>the corpus study: experiments/minilm-arcticxs-study.yaml's shape (MiniLM × arctic-embed-xs, similarity,
/// layer statistics, CKA within and between, its PNG + PDF figures) over <c>texts</c> sentences (the worked corpus's
/// 320, then <see cref="SentenceCorpus"/>'s);</item>
/// <item>the T5-base pair: two T5-base-shaped synthetic checkpoints × 2 texts of <c>tokens</c> tokens, similarity and
/// attention, PNG + PDF figures.</item>
/// </list>
/// Each run builds Download (the model conversion) first, untimed, then times one <c>tta-cli run --stage=Extract
/// --through=Figures</c>: the whole process (wall; CPU of the process tree, children such as Chromium included) and,
/// from its <see cref="RunProfile"/>, the window from the first unit's start to the last unit's end, which leaves out
/// the process's start-up (runtime, libtorch, experiments, the plan) — the busy cores of the goal.
/// </summary>
public static class ScaleOutBenchmark
{
    public static void Run(TextWriter log, string work, string root, int texts = 500, int tokens = 480, int? jobs = null, int repeats = 1)
    {
        var cores = jobs ?? Environment.ProcessorCount;
        var dir = Path.Combine(Path.GetFullPath(work), $"tta-bench-scaleout-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var workloads = new[]
            {
                ($"corpus study ({texts} texts × 2 models)", CorpusStudy(root, dir, texts)),
                ($"T5-base pair (2 models × 2 texts of {tokens} tokens)", T5Pair(dir, tokens)),
            };
            log.WriteLine(Invariant($"scaleout: timed: one `tta-cli run --stage=Extract --through=Figures` per run, from scratch (Download and model conversion built before, untimed); 'window' = first unit's start to last unit's end; CPU = the whole process tree (user + system, waited-for children included); {Environment.ProcessorCount} cores"));
            foreach (var (name, experiment) in workloads)
            {
                var best = new Dictionary<int, (CliRun Run, double Cpu, RunProfileResult Profile, string Outputs)>();
                var digests = new HashSet<string>(StringComparer.Ordinal);
                for (var r = 0; r < repeats; r++)
                    foreach (var j in cores == 1 ? [1] : new[] { 1, cores })
                    {
                        var result = Measure(root, dir, experiment, j, $"{r}");
                        var (run, cpu, profile, outputs) = result;
                        digests.Add(outputs);
                        log.WriteLine(Invariant($"scaleout: {name}, --jobs={j}: outputs {outputs}; process {run.Seconds:0.0} s wall, {cpu:0.0} s CPU; window {profile.WindowSeconds:0.0} s wall, {profile.CpuSeconds:0.0} s CPU → {profile.BusyCores:0.00} cores busy; ") +
                                      $"{Shares(profile)}; {string.Join(", ", profile.Stages.Select(Stage))}; load average {CorpusBenchmark.LoadAverage()}");
                        if (!best.TryGetValue(j, out var b) || profile.WindowSeconds < b.Profile.WindowSeconds) best[j] = result;
                    }
                log.WriteLine($"scaleout: {name}: outputs of every run byte-identical: {(digests.Count == 1 ? "yes" : "NO")}");
                if (cores == 1) continue;
                var (one, many) = (best[1].Profile, best[cores].Profile);
                var goal = 0.9 * cores;
                log.WriteLine(Invariant($"scaleout: {name}: --jobs=1 {one.WindowSeconds:0.0} s → --jobs={cores} {many.WindowSeconds:0.0} s = {one.WindowSeconds / many.WindowSeconds:0.00}× faster (window{(repeats > 1 ? $", best of {repeats}" : "")}); busy cores at --jobs={cores}: {many.BusyCores:0.00} of {cores} ") +
                              Invariant($"(goal ≥ {goal:0.0}: {(many.BusyCores >= goal ? "met" : "NOT met")}); at --jobs=1: {one.BusyCores:0.00}"));
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// One from-scratch build of <paramref name="experiment"/> at <paramref name="jobs"/>: its process, the process
    /// tree's CPU, its profile and the digest of its outputs.
    /// </summary>
    private static (CliRun Run, double Cpu, RunProfileResult Profile, string Outputs) Measure(string root, string dir, string experiment, int jobs, string tag)
    {
        var run = Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(experiment)}-jobs{jobs}-{tag}");
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        var profileFile = Path.Combine(run, "profile.json");
        string[] common = [$"--root={root}", $"--experiment={experiment}", $"--cache={Path.Combine(run, "cache")}", $"--figures={Path.Combine(run, "figures")}"];
        CorpusBenchmark.Check(CliProcess.Run(["run", "--stage=Download", .. common]));
        var cpu = RunProfile.CpuSeconds(self: false);
        var timed = CorpusBenchmark.Check(CliProcess.Run(["run", "--stage=Extract", "--through=Figures", $"--jobs={jobs}", .. common],
            new Dictionary<string, string> { [RunProfile.FileVariable] = profileFile }));
        cpu = RunProfile.CpuSeconds(self: false) - cpu;
        var profile = JsonSerializer.Deserialize<RunProfileResult>(File.ReadAllText(profileFile))!;
        var outputs = OutputsDigest(run);
        Directory.Delete(run, recursive: true); // thousands of files, not needed again
        return (timed, cpu, profile, outputs);
    }

    private static string Shares(RunProfileResult p) =>
        "units running " + string.Join("/", Enumerable.Range(0, p.Running.Count)) + ": " + string.Join("/", p.Running.Select(x => Invariant($"{100 * x:0}%"))) +
        Invariant($" of the window, libtorch held {100 * p.TorchHeld:0}%");

    private static string Stage(StageProfile s) =>
        Invariant($"{s.Stage} {s.Units} units {s.UnitSeconds:0.0} s ({s.FirstStart:0.0}–{s.LastEnd:0.0} s)");

    /// <summary>
    /// experiments/minilm-arcticxs-study.yaml on <paramref name="texts"/> sentences: the worked corpus's first ones,
    /// then generated ones, in a corpus file beside the experiment.
    /// </summary>
    private static string CorpusStudy(string root, string dir, int texts)
    {
        var worked = File.ReadLines(Path.Combine(root, "experiments", "corpora", "sentences.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!).Take(texts).ToList();
        var sentences = worked.Concat(SentenceCorpus.Sentences(texts - worked.Count)).ToList();
        File.WriteAllLines(Path.Combine(dir, "corpus.jsonl"), sentences.Select(s => JsonSerializer.Serialize(new { text = s })));
        var yaml = File.ReadAllText(Path.Combine(root, "experiments", "minilm-arcticxs-study.yaml"))
            .Replace("name: minilm-arcticxs-study", "name: bench-study", StringComparison.Ordinal)
            .Replace("corpus: corpora/sentences.jsonl", "corpus: corpus.jsonl", StringComparison.Ordinal);
        var path = Path.Combine(dir, "bench-study.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Two T5-base-shaped float32 checkpoints × 2 texts of <paramref name="tokens"/> tokens, similarity and attention, PNG + PDF.</summary>
    private static string T5Pair(string dir, int tokens)
    {
        var (a, b) = (Path.Combine(dir, "t5-base-a"), Path.Combine(dir, "t5-base-b"));
        SyntheticCheckpoint.Write(a, "t5-base", ScalarType.Float32);
        SyntheticCheckpoint.Write(b, "t5-base", ScalarType.Float32);
        var text = ModelBenchmark.TextOfTokens(a, tokens);
        File.WriteAllText(Path.Combine(dir, "passage.txt"), text);
        File.WriteAllText(Path.Combine(dir, "passage-2.txt"), text[(text.Length / 3)..] + " " + text[..(text.Length / 3)]);
        var path = Path.Combine(dir, "bench-t5-pair.yaml");
        File.WriteAllText(path, $"""
            name: bench-t5-pair
            models:
              - id: synthetic-t5-base-a
                source: local
                path: {a}
                name: a
                dtype: float32
              - id: synthetic-t5-base-b
                source: local
                path: {b}
                name: b
                dtype: float32
            texts:
              - name: passage
                file: passage.txt
              - name: passage-2
                file: passage-2.txt
            extract:
              max_tokens: {tokens + 32}
            metrics:
              similarity: [cosine]
              attention:
                layers: [0]
                heads: [0, 5]
            figures:
              formats: [png, pdf]

            """);
        return path;
    }

    /// <summary>"N files, sha256 …" over every Parquet file and figure of a run (relative path and bytes), in path order.</summary>
    private static string OutputsDigest(string run)
    {
        var files = new[] { "*.parquet", "*.png", "*.pdf" }.SelectMany(p => Directory.EnumerateFiles(run, p, SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(run, f)).Order(StringComparer.Ordinal).ToList();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
            hash.AppendData(SHA256.HashData(File.ReadAllBytes(Path.Combine(run, file))));
        }
        return Invariant($"{files.Count} files, sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())[..16]}");
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
