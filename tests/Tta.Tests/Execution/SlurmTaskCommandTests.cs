using Tta.Cache;
using Tta.Execution;
using Tta.Execution.Slurm;
using Tta.Models;

namespace Tta.Tests.Execution;

/// <summary>
/// A Slurm task's command line states the planning machine's half-precision arithmetic, so a node resolves
/// <c>compute_dtype: auto</c> as the planner did when it fingerprinted the unit.
/// </summary>
public class SlurmTaskCommandTests
{
    private sealed class NamedUnit : StageUnit
    {
        public override string Stage => "Extract";
        public override string Key => "e/m/t";
        public override string ManifestPath => "/nonexistent/manifest.json";
        public override UnitDeclaration Declare() => new("test-1");
        public override IReadOnlyList<string> Run(RunContext context) => [];
    }

    [Fact]
    public void ATaskRunsUnderThePlannersHalfPrecision()
    {
        var settings = new SlurmSettings(new SlurmOptions(), ["dotnet", "/opt/tta-cli.dll"], ["--root=/r"]);
        var command = settings.TaskCommand([new NamedUnit()], forced: false, memoryMb: 1024);
        Assert.Equal(["env", $"TTA_HALF_PRECISION={ComputeDTypes.Describe(ComputeDTypes.ThisMachine())}", "dotnet", "/opt/tta-cli.dll", "run"], command.Take(5));
        Assert.Contains("--unit=Extract:e/m/t", command);
    }

    [Theory]
    [InlineData("flags\t: fpu avx2 avx512_bf16", "none")]
    [InlineData("flags\t: fpu avx2 amx_bf16 amx_fp16", "bfloat16,float16")]
    [InlineData("Features\t: fp asimd bf16", "bfloat16")]
    public void TheVariableWritesWhatCpuinfoSays(string cpuinfo, string expected) =>
        Assert.Equal(expected, ComputeDTypes.Describe(ComputeDTypes.NativeArithmetic(cpuinfo)));
}
