using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

public class SafetensorsTests
{
    [Fact]
    public void ReadsFixtureInputsAndRoundTripsBytes()
    {
        using var file = new SafetensorsFile(Repo.Fixture("models/bert-tiny/expected.safetensors"));
        using var ids = file.Load("input:input_ids");
        Assert.Equal(new long[] { 2, 7 }, ids.shape);
        Assert.Equal(ScalarType.Int64, ids.dtype);
        Assert.Equal(12L, ids[0, 0].item<long>()); // case.json: input_ids[0][0] == 12

        var path = Path.Combine(Repo.TempDir(), "roundtrip.safetensors");
        using var hidden = file.Load("hidden_states.0");
        SafetensorsFile.Write(path, new Dictionary<string, Tensor> { ["b"] = hidden, ["a"] = ids });
        using var back = new SafetensorsFile(path);
        using var h2 = back.Load("b");
        Assert.True(hidden.eq(h2).all().item<bool>());
        using var bf = back.Load("b", ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf.dtype);
    }
}
