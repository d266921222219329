using System.Globalization;
using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// <c>compute_dtype</c>: which dtype <c>auto</c> picks from the CPU's flags, and what computing bfloat16 weights in
/// float32 gives on every fixture — against transformers' float32 run (today's bfloat16 tolerance, the measured
/// differences printed), exactly a float32 model holding the bfloat16-rounded weights, with the stored weights left
/// in bfloat16.
/// </summary>
public class ComputeDTypeTests(ITestOutputHelper output)
{
    // Flag lines as /proc/cpuinfo writes them (shortened).
    private const string Avx2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma f16c\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma f16c\n";
    private const string Avx512NoAmx = "flags\t\t: fpu avx2 avx512f avx512bw avx512vl avx512_bf16 avx512_fp16 avx_vnni\n";
    private const string SapphireRapids = "flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8\n";
    private const string GraniteRapids = "flags\t\t: fpu avx2 avx512_bf16 avx512_fp16 amx_bf16 amx_fp16 amx_tile\n";
    private const string Graviton3 = "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd evtstrm aes fphp asimdhp cpuid asimdrdm sve bf16 i8mm\nCPU implementer\t: 0x41\n";
    private const string Graviton2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\n";

    [Theory]
    [InlineData(Avx2, ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(Avx2, ScalarType.Float16, ScalarType.Float32)]
    [InlineData(Avx512NoAmx, ScalarType.BFloat16, ScalarType.Float32)] // the flags alone: libtorch is still slower there
    [InlineData(Avx512NoAmx, ScalarType.Float16, ScalarType.Float32)]
    [InlineData(SapphireRapids, ScalarType.BFloat16, ScalarType.BFloat16)]
    [InlineData(SapphireRapids, ScalarType.Float16, ScalarType.Float32)]
    [InlineData(GraniteRapids, ScalarType.Float16, ScalarType.Float16)]
    [InlineData(Graviton3, ScalarType.BFloat16, ScalarType.BFloat16)]
    [InlineData(Graviton3, ScalarType.Float16, ScalarType.Float16)]
    [InlineData(Graviton2, ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(Graviton2, ScalarType.Float16, ScalarType.Float16)]
    [InlineData("", ScalarType.BFloat16, ScalarType.Float32)] // no /proc/cpuinfo: no native half precision assumed
    [InlineData(Avx2, ScalarType.Float32, ScalarType.Float32)]
    public void AutoComputesInTheLoadDTypeOnlyWhereTheCpuHasItsArithmetic(string cpuinfo, ScalarType load, ScalarType expected) =>
        Assert.Equal(expected, ComputeDTypes.Resolve("auto", load, cuda: false, cpuinfo));

    [Fact]
    public void AutoOnCudaAndExplicitSpecs()
    {
        Assert.Equal(ScalarType.BFloat16, ComputeDTypes.Resolve("auto", ScalarType.BFloat16, cuda: true, Avx2));
        Assert.Equal(ScalarType.Float16, ComputeDTypes.Resolve("auto", ScalarType.Float16, cuda: true, Avx2));
        Assert.Equal(ScalarType.Float32, ComputeDTypes.Resolve("float32", ScalarType.BFloat16, cuda: true, SapphireRapids));
        Assert.Equal(ScalarType.BFloat16, ComputeDTypes.Resolve("bfloat16", ScalarType.BFloat16, cuda: false, Avx2)); // today's behaviour, asked for
        Assert.Equal(ScalarType.Float32, ComputeDTypes.Resolve("float32", ScalarType.Float32, cuda: false, Avx2));
        var e = Assert.Throws<ArgumentException>(() => ComputeDTypes.Resolve("float16", ScalarType.BFloat16, cuda: false, Avx2));
        Assert.Contains("neither float32 nor the load dtype bfloat16", e.Message);
        Assert.Throws<ArgumentException>(() => ComputeDTypes.Resolve("bfloat16", ScalarType.Float32, cuda: false, Avx2));
        Assert.Throws<ArgumentException>(() => ComputeDTypes.Resolve("fp32", ScalarType.BFloat16, cuda: false, Avx2));
        Assert.Equal(["auto", "float32", "bfloat16"], ComputeDTypes.Allowed("bfloat16"));
        Assert.Equal(["auto", "float32"], ComputeDTypes.Allowed("float32"));
    }

    [Fact]
    public void AModelRefusesAComputeDTypeThatIsNeitherFloat32NorItsDType()
    {
        foreach (var name in new[] { "llama-tiny", "flan-t5-tiny", "bert-tiny" })
        {
            var e = Assert.Throws<NotSupportedException>(() => ModelFactory.Load(FixtureCheck.ModelDir(name), ScalarType.BFloat16, ScalarType.Float16));
            Assert.Contains("compute dtype Float16 is neither float32 nor the load dtype BFloat16", e.Message);
        }
    }

    private static void AsReference(ITransformerModel m)
    {
        if (m is Falcon f) f.EmulateReferenceBoolMaskBug = true; // how the Falcon fixtures were recorded
    }

    /// <summary>The fixture's hidden states (every stack) and logits from bfloat16 weights computed in <paramref name="compute"/>.</summary>
    private static (Dictionary<string, Tensor> Captured, IReadOnlyList<Tensor> Masks) RunBfloat16(string name, ScalarType compute)
    {
        var dir = FixtureCheck.ModelDir(name);
        using var model = ModelFactory.Load(dir, ScalarType.BFloat16, compute);
        AsReference(model);
        using var capture = ActivationCapture.Matching(["*hidden_states.*", "logits"]);
        var inputs = FixtureCheck.RunCase(model, dir, capture);
        return (capture.Items.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).DetachFromDisposeScope()), FixtureCheck.PaddingMasks(inputs));
    }

    /// <summary>Largest error against transformers' float32 tensor over real tokens, absolute and relative to the tensor's largest |value|.</summary>
    private static (double Abs, double Relative) Error(Tensor actual, Tensor want, IReadOnlyList<Tensor> masks)
    {
        var err = FixtureCheck.MaxAbsError(actual, want, masks);
        using var zero = zeros_like(want);
        return (err, err / FixtureCheck.MaxAbsError(zero, want, masks));
    }

    public static TheoryData<string> Fixtures => [.. FixtureCheck.Models];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Bfloat16WeightsComputedInFloat32StayWithinTheBfloat16ToleranceOfTransformers(string name)
    {
        using var scope = NewDisposeScope();
        using var expected = FixtureCheck.Expected(FixtureCheck.ModelDir(name));
        var (inFloat32, masks) = RunBfloat16(name, ScalarType.Float32);
        var (inBfloat16, _) = RunBfloat16(name, ScalarType.BFloat16);
        Assert.Equal(inBfloat16.Keys.Order(), inFloat32.Keys.Order());
        var compared = 0;
        var (worst32, worst16) = ((Abs: 0.0, Relative: 0.0), (Abs: 0.0, Relative: 0.0));
        foreach (var (tensor, actual) in inFloat32.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!expected.Contains(tensor)) continue;
            using var want = expected.Load(tensor);
            var e32 = Error(actual, want, masks);
            var e16 = Error(inBfloat16[tensor], want, masks);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} {tensor}: compute float32 max abs {e32.Abs:g3} (relative {e32.Relative:g3}); compute bfloat16 max abs {e16.Abs:g3} (relative {e16.Relative:g3})"));
            Assert.True(e32.Relative <= 2e-2, $"{name} {tensor}: computing in float32 is {e32.Relative:g3} of max |x| off transformers (> 2e-2, the bfloat16 tolerance)");
            Assert.True(e32.Abs > 0, $"{name} {tensor}: identical to float32 weights, so the weights were not bfloat16");
            worst32 = e32.Relative > worst32.Relative ? e32 : worst32;
            worst16 = e16.Relative > worst16.Relative ? e16 : worst16;
            compared++;
        }
        Assert.True(compared >= 3, $"{name}: compared only {compared} tensors");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} worst of {compared}: compute float32 {worst32.Abs:g3} abs / {worst32.Relative:g3} relative; compute bfloat16 {worst16.Abs:g3} abs / {worst16.Relative:g3} relative"));
    }

    /// <summary>A copy of fixture <paramref name="name"/> whose float32 weights are rounded to bfloat16 values (still stored as float32).</summary>
    private static string RoundedToBfloat16(string name)
    {
        var source = FixtureCheck.ModelDir(name);
        var dir = Repo.TempDir();
        foreach (var file in Directory.GetFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        using var scope = NewDisposeScope();
        using var weights = new SafetensorsFile(Path.Combine(source, "model.safetensors"));
        var rounded = weights.Entries.Keys.Order(StringComparer.Ordinal)
            .Select(k => new KeyValuePair<string, Tensor>(k, weights.Load(k).to(ScalarType.BFloat16).to(ScalarType.Float32))).ToList();
        SafetensorsFile.Write(Path.Combine(dir, "model.safetensors"), rounded);
        return dir;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Bfloat16WeightsComputedInFloat32AreAFloat32ModelOfTheRoundedWeights(string name)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(name);
        using var upcast = ModelFactory.Load(dir, ScalarType.BFloat16, ScalarType.Float32);
        using var rounded = ModelFactory.Load(RoundedToBfloat16(name), ScalarType.Float32);
        AsReference(upcast);
        AsReference(rounded);
        using var a = ActivationCapture.All();
        using var b = ActivationCapture.All();
        FixtureCheck.RunCase(upcast, dir, a);
        FixtureCheck.RunCase(rounded, dir, b);
        Assert.Equal(b.Captured.Select(c => c.Point.Name), a.Captured.Select(c => c.Point.Name));
        var differing = new List<string>();
        foreach (var ((point, x), (_, y)) in a.Captured.Zip(b.Captured))
        {
            Assert.Equal(ScalarType.Float32, x.dtype); // activations in the compute dtype
            if (!x.shape.SequenceEqual(y.shape) || !x.eq(y).all().item<bool>()) differing.Add($"{point.Name} (max {(x - y).abs().max().item<float>():g3})");
        }
        output.WriteLine($"{name}: {a.Captured.Count} tensors, {differing.Count} not bit-identical {string.Join(", ", differing)}");
        Assert.True(differing.Count == 0, $"{name}: not bit-identical to the float32 model of the rounded weights: {string.Join(", ", differing)}");
    }

    [Theory]
    [InlineData("flan-t5-tiny")]
    [InlineData("falcon-7b-tiny")]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny")]
    public void TheWeightsStayBfloat16AfterARunInFloat32(string name)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(name);
        using var model = ModelFactory.Load(dir, ScalarType.BFloat16, ScalarType.Float32);
        using var capture = ActivationCapture.Matching(["logits"]);
        FixtureCheck.RunCase(model, dir, capture);
        Assert.Equal(ScalarType.Float32, capture["logits"].dtype);
        var parameters = ((nn.Module)model).parameters().ToList();
        Assert.NotEmpty(parameters);
        Assert.All(parameters, p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }

    [Fact]
    public void AHeadLargerThanOneChunkIsAppliedInChunksWithTheSameResult()
    {
        using var scope = NewDisposeScope();
        var rows = ComputeWeights.ChunkElements / 64 * 2 + 3; // two full chunks of a 64-wide table and a partial one
        var table = randn([rows, 64], ScalarType.Float32).to(ScalarType.BFloat16);
        var bias = randn([rows], ScalarType.Float32).to(ScalarType.BFloat16);
        var x = randn([1, 5, 64], ScalarType.Float32);
        var chunked = ComputeWeights.Linear(x, table, bias);
        var whole = nn.functional.linear(x, table.to(ScalarType.Float32), bias.to(ScalarType.Float32));
        Assert.Equal(whole.shape, chunked.shape);
        var diff = (chunked - whole).abs().max().item<float>();
        output.WriteLine($"chunked head ({rows} rows): max difference from one linear {diff:g3}");
        Assert.True(diff <= 1e-5, $"chunked head differs by {diff}");
        Assert.Equal(ScalarType.BFloat16, table.dtype);
    }
}
