using System.Text.Json.Nodes;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>For every architecture: an unsupported model_type, and missing plus misshaped tensors, each give one clear error.</summary>
public class CheckpointErrorTests
{
    public static TheoryData<string> Fixtures => [.. FixtureCheck.Models];

    /// <summary>Copies a fixture's config and weights, letting the test drop and reshape tensors.</summary>
    private static string Copy(string name, Action<JsonObject>? editConfig, Func<string, Tensor, Tensor?> editTensor)
    {
        var source = FixtureCheck.ModelDir(name);
        var dir = Repo.TempDir();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        using var scope = NewDisposeScope();
        using var file = new SafetensorsFile(Path.Combine(source, "model.safetensors"));
        var tensors = file.Entries.Keys.Select(k => (k, t: editTensor(k, file.Load(k)))).Where(x => x.t is not null)
            .Select(x => new KeyValuePair<string, Tensor>(x.k, x.t!)).ToList();
        SafetensorsFile.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }

    /// <summary>Two matrices of the second layer: the first is dropped, the second loses a row.</summary>
    private static (string Dropped, string Misshaped, long[] Shape) Victims(string name)
    {
        using var file = new SafetensorsFile(Path.Combine(FixtureCheck.ModelDir(name), "model.safetensors"));
        var layerOne = file.Entries.Values.Where(e => e.Shape.Length == 2 && e.Name.Contains(".1.", StringComparison.Ordinal))
            .OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        Assert.True(layerOne.Count >= 2, $"{name}: fewer than two layer-1 matrices");
        return (layerOne[0].Name, layerOne[1].Name, layerOne[1].Shape);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void MissingAndMisshapedTensorsAreListedInOneError(string name)
    {
        var (dropped, misshaped, shape) = Victims(name);
        var dir = Copy(name, null, (k, t) => k == dropped ? null : k == misshaped ? t.narrow(0, 0, t.shape[0] - 1).contiguous() : t);
        var e = Assert.Throws<InvalidDataException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains($"missing: {dropped}", e.Message);
        Assert.Contains($"expected shape [{string.Join(", ", ExpectedShape(name, dropped))}]", e.Message);
        Assert.Contains($"misshaped: {misshaped} is [{shape[0] - 1}, {shape[1]}], model expects [{shape[0]}, {shape[1]}]", e.Message);
        Assert.Contains("found tensors:", e.Message);
        Assert.DoesNotContain("did not use", e.Message); // the misshaped tensor is matched by name, nothing else is left
        // a renamed tensor shows up as missing under its expected name and as unused under the name found
        var renamed = Copy(name, null, (k, t) => t);
        RenameInPlace(renamed, dropped, dropped + "_renamed");
        var r = Assert.Throws<InvalidDataException>(() => ModelFactory.Load(renamed, ScalarType.Float32));
        Assert.Contains($"missing: {dropped}", r.Message);
        Assert.Contains($"did not use: {dropped}_renamed", r.Message);
        Assert.Contains("2 problem(s)", e.Message);
    }

    private static void RenameInPlace(string dir, string from, string to)
    {
        var path = Path.Combine(dir, "model.safetensors");
        List<KeyValuePair<string, Tensor>> tensors;
        using (var file = new SafetensorsFile(path))
            tensors = file.Entries.Keys.Select(k => new KeyValuePair<string, Tensor>(k == from ? to : k, file.Load(k))).ToList();
        SafetensorsFile.Write(path, tensors);
    }

    private static long[] ExpectedShape(string name, string tensor)
    {
        using var file = new SafetensorsFile(Path.Combine(FixtureCheck.ModelDir(name), "model.safetensors"));
        return file.Entries[tensor].Shape;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void UnsupportedModelTypeNamesTheSupportedOnes(string name)
    {
        var dir = Copy(name, c => c["model_type"] = "rwkv", (_, t) => t);
        var e = Assert.Throws<NotSupportedException>(() => ModelFactory.Load(dir, ScalarType.Float32));
        Assert.Contains("'rwkv'", e.Message);
        foreach (var supported in ModelFactory.SupportedModelTypes) Assert.Contains(supported, e.Message);
    }

    [Fact]
    public void MissingModelTypeIsAnError()
    {
        var dir = Copy("gpt2-tiny", c => c.Remove("model_type"), (_, t) => t);
        Assert.Throws<NotSupportedException>(() => ModelFactory.Load(dir, ScalarType.Float32));
    }
}
