using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// The dtype a model computes in (<c>compute_dtype:</c>), apart from the dtype its weights are stored in
/// (<c>dtype:</c>). On a CPU without half-precision matrix units (AVX2, and AVX-512 without AMX) libtorch runs
/// bfloat16 and float16 matrix products several times slower than float32 ones: there <c>auto</c> keeps the weights
/// in the load dtype and computes in float32, upcasting each weight for the op that uses it.
/// </summary>
public static class ComputeDTypes
{
    /// <summary>The value that picks by machine; the others are <c>float32</c> and the load dtype's own name.</summary>
    public const string Auto = "auto";

    /// <summary>The names a model loaded in <paramref name="load"/> may compute in: auto, float32 and the load dtype itself.</summary>
    public static IReadOnlyList<string> Allowed(string load) => load == "float32" ? [Auto, "float32"] : [Auto, "float32", load];

    /// <summary>
    /// The dtype a model loaded in <paramref name="load"/> computes in. <c>auto</c>: on CUDA the load dtype; on the CPU
    /// the load dtype where the CPU has native arithmetic for it (<see cref="NativeArithmetic"/> of <paramref name="cpuFlags"/>, /proc/cpuinfo's text,
    /// read when null), else float32. An explicit spec must be float32 or the load dtype (the experiment loader
    /// refuses others with the file and line; here they are an <see cref="ArgumentException"/>).
    /// </summary>
    public static ScalarType Resolve(string spec, ScalarType load, bool cuda, string? cpuFlags = null)
    {
        if (spec == Auto)
            return load == ScalarType.Float32 || cuda || (cpuFlags is null ? ThisMachine() : NativeArithmetic(cpuFlags)).Contains(load) ? load : ScalarType.Float32;
        var wanted = DTypes.Parse(spec);
        return wanted == ScalarType.Float32 || wanted == load ? wanted
            : throw new ArgumentException($"compute dtype {spec} is neither float32 nor the load dtype {DTypes.Name(load)}");
    }

    /// <summary>
    /// Refuses a load dtype a model cannot hold, or a compute dtype other than float32 and the load dtype
    /// (<paramref name="model"/> names the model in the error).
    /// </summary>
    public static void Check(string model, ScalarType load, ScalarType compute)
    {
        if (load is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new NotSupportedException($"{model}: dtype {load} is not supported (float32, bfloat16, float16)");
        if (compute != ScalarType.Float32 && compute != load)
            throw new NotSupportedException($"{model}: compute dtype {compute} is neither float32 nor the load dtype {load}");
    }

    /// <summary>
    /// The half-precision dtypes a CPU computes at least as fast as float32 under libtorch, from the flags in
    /// /proc/cpuinfo: x86 <c>amx_bf16</c> (bfloat16) and <c>amx_fp16</c> (float16); arm64's <c>Features</c> line
    /// <c>bf16</c> (bfloat16), <c>asimdhp</c> or <c>fphp</c> (float16). The AVX-512 flags <c>avx512_bf16</c> and
    /// <c>avx512_fp16</c> do not count: on a Xeon that has both but no AMX, libtorch 2.10's matrix products ran at 70
    /// (bfloat16) and 142 (float16) GFLOP/s against 332 in float32 (2 threads, [512, 4544] × [4544, 18176]).
    /// </summary>
    public static IReadOnlySet<ScalarType> NativeArithmetic(string cpuinfo)
    {
        var flags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in cpuinfo.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            if (key is "flags" or "Features")
                flags.UnionWith(line[(colon + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        }
        var native = new HashSet<ScalarType>();
        if (flags.Overlaps(["amx_bf16", "bf16"])) native.Add(ScalarType.BFloat16);
        if (flags.Overlaps(["amx_fp16", "asimdhp", "fphp"])) native.Add(ScalarType.Float16);
        return native;
    }

    /// <summary>
    /// Overrides what <see cref="ThisMachine"/> reads from /proc/cpuinfo: <c>none</c> or a comma list of
    /// <c>bfloat16</c>, <c>float16</c>. A Slurm task gets the planning machine's value
    /// (<see cref="Describe"/>), so every node computes in the dtype the planner fingerprinted, whatever its CPU.
    /// </summary>
    public const string HalfPrecisionVariable = "TTA_HALF_PRECISION";

    /// <summary>The half-precision dtypes this machine computes natively: <see cref="HalfPrecisionVariable"/> where set, else /proc/cpuinfo's flags.</summary>
    public static IReadOnlySet<ScalarType> ThisMachine() =>
        Environment.GetEnvironmentVariable(HalfPrecisionVariable) is { Length: > 0 } value ? ParseList(value) : NativeArithmetic(CpuInfo.Value);

    /// <summary>A set of half-precision dtypes as <see cref="HalfPrecisionVariable"/> writes it: <c>none</c> or names joined by commas.</summary>
    public static string Describe(IReadOnlySet<ScalarType> native) =>
        native.Count == 0 ? "none" : string.Join(",", native.Select(DTypes.Name).Order(StringComparer.Ordinal));

    private static HashSet<ScalarType> ParseList(string value)
    {
        if (value.Trim() == "none") return [];
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0 || names.Any(n => n is not ("bfloat16" or "float16")))
            throw new ArgumentException($"{HalfPrecisionVariable}={value}: write none, or bfloat16 and/or float16 separated by commas");
        return [.. names.Select(DTypes.Parse)];
    }

    /// <summary>This machine's /proc/cpuinfo, read once (empty where there is none: no native half precision assumed).</summary>
    private static readonly Lazy<string> CpuInfo = new(() =>
    {
        try { return File.ReadAllText("/proc/cpuinfo"); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    });
}
