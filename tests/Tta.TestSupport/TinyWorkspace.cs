using System.Text;

namespace Tta.Tests;

/// <summary>
/// A throwaway project folder with an experiment that runs the bert-tiny fixture as a local checkpoint (plus a
/// vocab.txt made here, since the fixture has none), so pipeline tests exercise every real stage in seconds.
/// </summary>
public sealed class TinyWorkspace
{
    public string Root { get; } = Repo.TempDir();
    public string CacheDir => Path.Combine(Root, "cache");
    public string FiguresDir => Path.Combine(Root, "figures");
    public string ExperimentPath => Path.Combine(Root, "experiments", "tiny.yaml");

    /// <summary>The metric kinds its runs know (tta's own when null).</summary>
    public Tta.Metrics.MetricKinds? Kinds { get; init; }

    public TinyWorkspace(string? yaml = null)
    {
        var model = Path.Combine(Root, "experiments", "model");
        Directory.CreateDirectory(model);
        File.Copy(Path.Combine(FixtureCheck.ModelDir("bert-tiny"), "config.json"), Path.Combine(model, "config.json"));
        File.Copy(Path.Combine(FixtureCheck.ModelDir("bert-tiny"), "model.safetensors"), Path.Combine(model, "model.safetensors"));
        File.WriteAllText(Path.Combine(model, "vocab.txt"), Vocab(320));
        Directory.CreateDirectory(Path.Combine(Root, "experiments", "texts"));
        File.WriteAllText(Path.Combine(Root, "experiments", "texts", "one.txt"), "the cat sat on the mat.");
        WriteExperiment(yaml ?? DefaultYaml);
    }

    /// <summary>The tiny experiment's name and its one model (bert-tiny from <c>experiments/model</c>); texts and the rest follow.</summary>
    public const string NameAndModel = """
        name: tiny
        models:
          - id: bert-tiny
            source: local
            path: model
            name: tiny

        """;

    public const string DefaultYaml = NameAndModel + """
        texts:
          - name: one
            file: texts/one.txt
          - name: two
            text: "a dog ran to the park!"
        figures:
          formats: [png, pdf]
          cell_pixels: 8
        """;

    public void WriteExperiment(string yaml) => File.WriteAllText(ExperimentPath, yaml);

    /// <summary>
    /// flan-t5-tiny as a local checkpoint in <c>experiments/<paramref name="folder"/></c>, with the T5 Unigram
    /// tokenizer.json fixture (its ids stay below the model's 320-entry vocabulary).
    /// </summary>
    public void AddFlanT5Tiny(string folder = "t5")
    {
        var model = AddModelWeights("flan-t5-tiny", folder);
        File.Copy(Repo.Fixture("tokenizers/t5-unigram-json/tokenizer.json"), Path.Combine(model, "tokenizer.json"));
    }

    /// <summary>A fixture model's config.json and weights in <c>experiments/<paramref name="folder"/></c>, without a tokenizer; returns the folder.</summary>
    public string AddModelWeights(string fixture, string folder = "m")
    {
        var model = Path.Combine(Root, "experiments", folder);
        Directory.CreateDirectory(model);
        foreach (var f in new[] { "config.json", "model.safetensors" })
            File.Copy(Path.Combine(FixtureCheck.ModelDir(fixture), f), Path.Combine(model, f));
        return model;
    }

    public string[] Args(string verb, params string[] extra) =>
        verb == "verify" // reads an archive, not the experiments
            ? [verb, $"--root={Root}", .. extra]
            : [verb, $"--root={Root}", $"--experiment={ExperimentPath}", .. extra];

    /// <summary>Runs a tta-cli verb in-process; returns exit code and combined output.</summary>
    public (int Code, string Output) Cli(string verb, params string[] extra)
    {
        var output = new StringWriter();
        var code = TtaCli.Run(Args(verb, extra), output, output, Kinds);
        return (code, output.ToString());
    }

    /// <summary>Runs every stage in-process, failing the test on the first one that fails.</summary>
    public void RunAll(params string[] extra)
    {
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" })
        {
            var (code, output) = Cli("run", [$"--stage={stage}", .. extra]);
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
    }

    /// <summary>Every file under cache/ and figures/ with its size and mtime, to show a run touched nothing.</summary>
    public string Snapshot()
    {
        var sb = new StringBuilder();
        foreach (var dir in new[] { CacheDir, FiguresDir }.Where(Directory.Exists))
            foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var info = new FileInfo(f);
                sb.AppendLine($"{Path.GetRelativePath(Root, f)} {info.Length} {info.LastWriteTimeUtc.Ticks}");
            }
        return sb.ToString();
    }

    /// <summary>A WordPiece vocabulary of exactly <paramref name="size"/> entries covering the test texts.</summary>
    internal static string Vocab(int size)
    {
        var words = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
        words.AddRange("the cat sat on mat a dog ran to park".Split(' '));
        words.AddRange(".,!?;:'\"()-".Select(c => c.ToString()));
        words.AddRange(Enumerable.Range('a', 26).Select(c => ((char)c).ToString()));
        words.AddRange(Enumerable.Range('a', 26).Select(c => "##" + (char)c));
        words.AddRange(Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        for (var i = 0; words.Count < size; i++) words.Add($"[unused{i}]");
        return string.Join("\n", words.Take(size)) + "\n";
    }
}
