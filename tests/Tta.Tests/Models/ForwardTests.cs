using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// The <c>forward</c> verb's runner on every fixture: every tensor of expected.safetensors (inputs and the four Falcon
/// tensors transformers mutates in place aside) is in our output file under the same name and shape, within 1e-4 on
/// real tokens.
/// </summary>
public class ForwardTests(ITestOutputHelper output)
{
    public static TheoryData<string> Fixtures => [.. FixtureCheck.Models];

    // transformers adds the attention output into Falcon's MLP output in place after the fixture hook kept it, so
    // the fixture's transformer.h.{0,1}.mlp and .mlp.dense_4h_to_h hold mlp + attention (DecoderModelTests checks that).
    private static bool InPlaceMutated(string fixture, string tensor) =>
        fixture.StartsWith("falcon", StringComparison.Ordinal)
        && (tensor.EndsWith(".mlp", StringComparison.Ordinal) || tensor.EndsWith(".mlp.dense_4h_to_h", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void ForwardOutputHoldsEveryFixtureTensor(string name)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(name);
        var caseJson = Path.Combine(dir, "case.json");
        var outPath = Path.Combine(Repo.TempDir(), "forward.safetensors");
        var log = new StringWriter();
        // Through the CLI verb the Forward target runs. The Falcon fixtures were recorded as transformers computes
        // attention weights of an SDPA-loaded Falcon (boolean mask added), so they are compared with --masking=reference.
        string[] masking = name.StartsWith("falcon", StringComparison.Ordinal) ? ["--masking=reference"] : [];
        var rc = TtaCli.Run(["forward", $"--model={dir}", $"--inputs={caseJson}", $"--out={outPath}", .. masking], log, log);
        Assert.Equal(0, rc);
        Assert.Contains(name.StartsWith("flan", StringComparison.Ordinal) ? "t5" : name.Split('-')[0], log.ToString());

        using var expected = FixtureCheck.Expected(dir);
        using var ours = new SafetensorsFile(outPath);
        var masks = FixtureCheck.PaddingMasks(ForwardRunner.ReadInputs(caseJson));
        var failures = new List<string>();
        var compared = 0;
        var skipped = 0;
        foreach (var key in expected.Entries.Keys.Order(StringComparer.Ordinal))
        {
            if (key.StartsWith("input:", StringComparison.Ordinal)) continue;
            if (InPlaceMutated(name, key)) { skipped++; continue; }
            if (!ours.Contains(key)) { failures.Add($"{key}: missing from the forward output"); continue; }
            using var want = expected.Load(key);
            using var got = ours.Load(key);
            if (!got.shape.SequenceEqual(want.shape))
            {
                failures.Add($"{key}: shape [{string.Join(",", got.shape)}], expected [{string.Join(",", want.shape)}]");
                continue;
            }
            var err = FixtureCheck.MaxAbsError(got, want, masks);
            if (!(err <= 1e-4)) failures.Add($"{key}: max abs error {err:g3}");
            compared++;
        }
        // the inputs travel along unchanged
        foreach (var key in expected.Entries.Keys.Where(k => k.StartsWith("input:", StringComparison.Ordinal)))
            Assert.True(ours.Load(key).eq(expected.Load(key)).all().item<bool>(), key);
        Assert.True(failures.Count == 0, $"{name}:\n{string.Join("\n", failures)}");
        Assert.Equal(name.StartsWith("falcon", StringComparison.Ordinal) ? 4 : 0, skipped);
        Assert.True(compared >= 30, $"{name}: only {compared} tensors compared");
        output.WriteLine($"{name}: {compared} fixture tensors within 1e-4 in the forward output ({ours.Entries.Count} written)");
    }

    /// <summary>Forward masks causally unless asked for the reference quirk: its default equals --masking=correct.</summary>
    [Fact]
    public void ForwardDefaultsToCausalMasking()
    {
        var dir = FixtureCheck.ModelDir("falcon-7b-tiny");
        var caseJson = Path.Combine(dir, "case.json");
        var tmp = Repo.TempDir();
        SafetensorsFile Run(string name, params string[] extra)
        {
            var path = Path.Combine(tmp, name + ".safetensors");
            var log = new StringWriter();
            Assert.Equal(0, TtaCli.Run(["forward", $"--model={dir}", $"--inputs={caseJson}", $"--out={path}", .. extra], log, log));
            return new SafetensorsFile(path);
        }
        using var byDefault = Run("default");
        using var correct = Run("correct", "--masking=correct");
        using var reference = Run("reference", "--masking=reference");
        const string probs = "attentions.0";
        using var d = byDefault.Load(probs);
        Assert.True(d.eq(correct.Load(probs)).all().item<bool>());
        Assert.False(d.eq(reference.Load(probs)).all().item<bool>());
        // causal: nothing above the diagonal
        Assert.Equal(0f, d.triu(1).abs().max().item<float>());
        var error = new StringWriter();
        Assert.Equal(TtaCli.BadInput, TtaCli.Run(["forward", $"--model={dir}", $"--inputs={caseJson}", $"--out={Path.Combine(tmp, "x.safetensors")}", "--masking=sdpa"], error, error));
        Assert.Contains("--masking must be reference or correct", error.ToString());
    }
}
