using System.Diagnostics;
using System.Globalization;
using Tta.Models;
using Tta.Tokenizers;
using static TorchSharp.torch;

namespace Tta.Bench;

/// <summary>
/// Benchmarks of a whole model run (not tests), each on a synthetic checkpoint of a real shape
/// (<see cref="SyntheticCheckpoint"/>) in a throwaway project, every measurement a real child process (tta-cli, or tta-bench for the bare baseline):
/// <list type="bullet">
/// <item><c>memory</c>: peak RSS of <c>tta-cli run --stage=Extract</c> at 512 tokens against the weights, for a
/// Flan-T5-base-shaped float32 and a Falcon-7b-shaped bfloat16 checkpoint (goal ≤ 1.2 × weights + 0.5 GiB), with the
/// printed estimate beside the peak (goal within 25 %).</item>
/// <item><c>extract</c>: the Extract stage (load + forward + store) against a bare load + forward pass of the same
/// model and text in the same kind of process (goal ≤ 1.25 ×), best of several runs each, alternated.</item>
/// </list>
/// </summary>
public static class ModelBenchmark
{
    private const string Passage =
        "A strong answer states the claim in the first sentence, supports it with two pieces of evidence drawn from the " +
        "passage, and explains how each piece of evidence connects back to the claim. It addresses a likely " +
        "counterargument and responds to it with reasoning rather than assertion. ";

    private static string F(double x, string format = "0.00") => x.ToString(format, CultureInfo.InvariantCulture);

    private static string Gib(double bytes) => F(bytes / (1L << 30)) + " GiB";

    /// <summary>A text that the checkpoint's tokenizer turns into <paramref name="tokens"/> tokens (or just under).</summary>
    public static string TextOfTokens(string checkpointDir, int tokens)
    {
        var tokenizer = TokenizerLoader.Load(checkpointDir);
        var source = string.Concat(Enumerable.Repeat(Passage, 1 + tokens * 2 / Passage.Length + 2));
        int Count(int length) => tokenizer.Encode(source[..length]).Ids.Length;
        int lo = 1, hi = source.Length;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (Count(mid) <= tokens) lo = mid; else hi = mid - 1;
        }
        return source[..lo].TrimEnd();
    }

    /// <summary>A project folder whose experiment runs <paramref name="model"/> on one text of <paramref name="tokens"/> tokens.</summary>
    public static (string Root, string Experiment) Project(string work, string name, string model, int tokens, string dtype, string metrics = "",
        string computeDtype = "auto")
    {
        var root = Path.Combine(work, name);
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        Directory.CreateDirectory(Path.Combine(root, "experiments", "texts"));
        File.WriteAllText(Path.Combine(root, "experiments", "texts", "passage.txt"), TextOfTokens(model, tokens));
        var experiment = Path.Combine(root, "experiments", name + ".yaml");
        File.WriteAllText(experiment, $"""
            name: {name}
            models:
              - id: synthetic-{name}
                source: local
                path: {model}
                name: {name}
                dtype: {dtype}
                compute_dtype: {computeDtype}
            texts:
              - name: passage
                file: texts/passage.txt
            extract:
              max_tokens: {tokens.ToString(CultureInfo.InvariantCulture)}
            {metrics}
            """);
        return (root, experiment);
    }

    internal static CliRun Cli(string root, string experiment, params string[] args) => Cli(root, experiment, null, args);

    internal static CliRun Cli(string root, string experiment, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var run = CliProcess.Run([.. args, $"--root={root}", $"--experiment={experiment}"], environment);
        if (run.ExitCode != 0) throw new InvalidOperationException($"tta-cli {string.Join(' ', args)} failed (exit {run.ExitCode}):\n{run.Output}");
        return run;
    }

    public static void RunMemory(TextWriter log, string work, int tokens = 512, int falconLayers = 4, string? falconShape = null)
    {
        var cases = new (string Shape, ScalarType DType, int? Layers, string DTypeName)[]
        {
            ("flan-t5-base", ScalarType.Float32, null, "float32"),
            (falconShape ?? "falcon-7b", ScalarType.BFloat16, falconLayers, "bfloat16"),
        };
        foreach (var (shape, dtype, layers, dtypeName) in cases)
        {
            var model = Path.Combine(work, "models", $"{shape}-{dtypeName}-{layers?.ToString(CultureInfo.InvariantCulture) ?? "all"}");
            var written = SyntheticCheckpoint.Write(model, shape, dtype, layers);
            var (root, experiment) = Project(work, "memory", model, tokens, dtypeName, computeDtype: dtypeName);
            Cli(root, experiment, "run", "--stage=Download");
            var run = Cli(root, experiment, "run", "--stage=Extract");
            var estimate = MemoryEstimate.For(model, dtype, tokens);
            var weights = estimate.WeightBytes;
            var goal = 1.2 * weights + (0.5 * (1L << 30));
            var off = (estimate.TotalBytes - run.PeakBytes) / run.PeakBytes;
            log.WriteLine($"memory: {written.Shape} ({written.Layers} blocks) {dtypeName}, {tokens} tokens: weights {Gib(weights)}, " +
                          $"peak RSS of Extract {Gib(run.PeakBytes)} = {F(run.PeakBytes / weights)} x weights " +
                          $"(goal <= 1.2 x weights + 0.5 GiB = {Gib(goal)}: {(run.PeakBytes <= goal ? "met" : "NOT met")}); " +
                          $"estimate {Gib(estimate.TotalBytes)}, {F(100 * off, "+0;-0")}% of the peak (goal within 25%: {(Math.Abs(off) <= 0.25 ? "met" : "NOT met")})");
        }
    }

    public static void RunExtract(TextWriter log, string work, int tokens = 512, int repeats = 3, string shape = "flan-t5-base")
    {
        var model = Path.Combine(work, "models", $"{shape}-float32-all");
        SyntheticCheckpoint.Write(model, shape, ScalarType.Float32);
        var (root, experiment) = Project(work, "extract", model, tokens, "float32");
        Cli(root, experiment, "run", "--stage=Download");
        var text = Path.Combine(root, "experiments", "texts", "passage.txt");
        double best(List<double> xs) => xs.Min();
        var extract = new List<double>();
        var bare = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            extract.Add(Cli(root, experiment, "run", "--stage=Extract", "--force").Seconds);
            var forward = CliProcess.Run(["bench", "--child=forward", $"--model={model}", $"--text={text}", "--dtype=float32"], assembly: CliProcess.BenchPath);
            if (forward.ExitCode != 0) throw new InvalidOperationException($"bare forward failed:\n{forward.Output}");
            bare.Add(forward.Seconds);
        }
        log.WriteLine($"extract: {shape} float32, {tokens} tokens, best of {repeats} processes: Extract stage (load + forward + store) {F(best(extract))} s " +
                      $"vs load + bare forward {F(best(bare))} s -> {F(best(extract) / best(bare))} x (goal <= 1.25 x)");
    }

    /// <summary>The baseline child: load the model and run one forward pass capturing nothing (no store, no cache).</summary>
    public static int BareForward(string model, string textFile, string dtype, TextWriter log)
    {
        var watch = Stopwatch.StartNew();
        var ids = TokenizerLoader.Load(model).Encode(File.ReadAllText(textFile)).Ids;
        using var net = ModelFactory.Load(model, DTypes.Parse(dtype));
        var loaded = watch.Elapsed.TotalSeconds;
        using var capture = new ActivationCapture(_ => false);
        using (var scope = NewDisposeScope())
        using (no_grad())
            net.Run(ModelInputs.ForText(net, ids), capture);
        log.WriteLine($"bare forward: {ids.Length} tokens, load {F(loaded)} s, forward {F(watch.Elapsed.TotalSeconds - loaded)} s");
        return 0;
    }
}
