using System.Globalization;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Bench;

/// <summary>
/// <c>compute</c>: a Falcon-7b-shaped bfloat16 checkpoint (<c>--falcon-layers</c> of its blocks at real widths, 32 for
/// the whole model) through <c>tta-cli run --stage=Extract</c> at <c>--tokens</c>, in child processes, with
/// <c>compute_dtype: bfloat16</c> (arithmetic in bfloat16: tta before compute_dtype, the baseline) and
/// <c>compute_dtype: auto</c> (float32 on a CPU without fast half precision) in the same run: wall time, speed-up,
/// and each run's peak RSS against its printed estimate (goal: ≥ 4× at 512 tokens on the full shape on an AVX2 CPU,
/// within the memory rule). Both are measured twice: with this CPU's instructions, and with libtorch limited to AVX2
/// (<see cref="Avx2Only"/>), which stands in for an AVX2 CPU on a machine that has more.
/// </summary>
public static class ComputeBenchmark
{
    private static string F(double x, string format = "0.00") => x.ToString(format, CultureInfo.InvariantCulture);

    private static string Gib(double bytes) => F(bytes / (1L << 30)) + " GiB";

    /// <summary>
    /// libtorch's instruction sets limited to AVX2 and below: its own kernels (ATEN_CPU_CAPABILITY), oneDNN
    /// (ONEDNN_MAX_CPU_ISA) and MKL (MKL_ENABLE_INSTRUCTIONS), so neither AVX-512 nor its bfloat16 instructions run;
    /// and no native half precision for <c>auto</c>. Measured here: a [512, 4544] × [18176, 4544]ᵀ product ran at 169
    /// GFLOP/s in float32 and 30 in bfloat16 (unlimited: 240 and 169), as the issue's AVX2 machine (115 and 18).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Avx2Only = new Dictionary<string, string>
    {
        ["ATEN_CPU_CAPABILITY"] = "avx2",
        ["ONEDNN_MAX_CPU_ISA"] = "AVX2",
        ["MKL_ENABLE_INSTRUCTIONS"] = "AVX2",
        [ComputeDTypes.HalfPrecisionVariable] = "none", // auto as on an AVX2 CPU, even where this one has AMX
    };

    public static void Run(TextWriter log, string work, int tokens = 512, int falconLayers = 4)
    {
        var model = Path.Combine(work, "models", $"falcon-7b-bfloat16-{falconLayers.ToString(CultureInfo.InvariantCulture)}");
        var written = SyntheticCheckpoint.Write(model, "falcon-7b", ScalarType.BFloat16, falconLayers);
        foreach (var (cpu, environment) in new (string, IReadOnlyDictionary<string, string>?)[] { ("this CPU", null), ("libtorch limited to AVX2", Avx2Only) })
        {
            var seconds = new Dictionary<string, double>();
            foreach (var spec in new[] { "bfloat16", "auto" })
            {
                var (root, experiment) = ModelBenchmark.Project(work, "compute-" + spec, model, tokens, "bfloat16", computeDtype: spec);
                ModelBenchmark.Cli(root, experiment, environment, "run", "--stage=Download");
                var run = ModelBenchmark.Cli(root, experiment, environment, "run", "--stage=Extract");
                var compute = ComputeDTypes.Resolve(spec, ScalarType.BFloat16, cuda: false, cpuFlags: environment is null ? null : "");
                var estimate = MemoryEstimate.For(model, ScalarType.BFloat16, tokens, compute: compute);
                var off = (estimate.TotalBytes - run.PeakBytes) / run.PeakBytes;
                var goal = 1.2 * estimate.WeightBytes + (0.5 * (1L << 30));
                seconds[spec] = run.Seconds;
                log.WriteLine($"compute ({cpu}): {written.Shape} ({written.Layers} blocks) bfloat16 weights, compute_dtype {spec} ({DTypes.Name(compute)} arithmetic), " +
                              $"{tokens} tokens: Extract {F(run.Seconds, "0.0")} s, peak RSS {Gib(run.PeakBytes)} = {F(run.PeakBytes / estimate.WeightBytes)} x weights " +
                              $"(goal <= {Gib(goal)}: {(run.PeakBytes <= goal ? "met" : "NOT met")}), estimate {Gib(estimate.TotalBytes)} ({F(100 * off, "+0;-0")}% of the peak)");
            }
            var speedup = seconds["bfloat16"] / seconds["auto"];
            log.WriteLine($"compute ({cpu}): auto vs bfloat16 arithmetic: {F(seconds["auto"], "0.0")} s vs {F(seconds["bfloat16"], "0.0")} s -> {F(speedup, "0.0")}x faster" +
                          (environment is null ? "" : $" (goal on an AVX2 CPU, full shape, 512 tokens: >= 4x: {(speedup >= 4 ? "met" : "NOT met")})"));
        }
    }
}
