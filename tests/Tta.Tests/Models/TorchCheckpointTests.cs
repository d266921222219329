using System.Text.Json.Nodes;
using Tta.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// pytorch_model.bin support (zip and legacy torch.save files, sharded indexes) against the same fixtures' safetensors,
/// and loading straight into the parameters in another dtype.
/// </summary>
public class TorchCheckpointTests(ITestOutputHelper output)
{
    public static TheoryData<string> Fixtures => [.. FixtureCheck.Models];

    private static List<KeyValuePair<string, Tensor>> FixtureTensors(string name)
    {
        using var file = new SafetensorsFile(Path.Combine(FixtureCheck.ModelDir(name), "model.safetensors"));
        return file.Entries.Keys.Order(StringComparer.Ordinal).Select(k => new KeyValuePair<string, Tensor>(k, file.Load(k))).ToList();
    }

    private static string NewModelDir(string fixture)
    {
        var dir = Repo.TempDir();
        File.Copy(Path.Combine(FixtureCheck.ModelDir(fixture), "config.json"), Path.Combine(dir, "config.json"));
        return dir;
    }

    /// <summary>
    /// The way real checkpoints vary: all tensors packed into one shared storage at different offsets, with every
    /// second 2-D weight stored transposed (a strided view), so offsets and strides are both exercised.
    /// </summary>
    private static TorchSaveWriter.StateDict Packed(List<KeyValuePair<string, Tensor>> tensors, ScalarType dtype)
    {
        var d = new TorchSaveWriter.StateDict();
        var parts = new List<Tensor>();
        long offset = 0;
        var matrices = 0;
        foreach (var (name, t) in tensors)
        {
            if (t.dim() == 2 && matrices++ % 2 == 1)
            {
                parts.Add(t.t().contiguous().reshape(-1)); // storage holds W^T row-major, so W has strides (1, rows)
                d.Views.Add(new(name, "0", offset, t.shape, [1, t.shape[0]]));
            }
            else
            {
                parts.Add(t.contiguous().reshape(-1));
                d.Views.Add(new(name, "0", offset, t.shape, StoredTensor.ContiguousStrides(t.shape)));
            }
            offset += t.NumberOfElements;
        }
        d.Storages["0"] = cat(parts, 0).to_type(dtype);
        return d;
    }

    private static Dictionary<string, Tensor> RunOn(ITransformerModel model, string caseJson)
    {
        var capture = ActivationCapture.All();
        model.Run(ForwardRunner.ReadInputs(caseJson), capture);
        return capture.Items.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void ZipCheckpointLoadsTheSameModelAsSafetensors(string name)
    {
        using var scope = NewDisposeScope();
        var tensors = FixtureTensors(name);
        var dir = NewModelDir(name);
        TorchSaveWriter.WriteZip(Path.Combine(dir, "pytorch_model.bin"), Packed(tensors, ScalarType.Float32), "pytorch_model");

        using (var checkpoint = new Checkpoint(dir))
        {
            Assert.EndsWith("pytorch_model.bin", checkpoint.WeightsFile);
            Assert.Equal(tensors.Select(t => t.Key).Order(), checkpoint.TensorNames.Order());
            Assert.Contains(tensors, t => !checkpoint.Entry(t.Key).IsContiguous); // some views are strided
            foreach (var (key, t) in tensors)
            {
                using var back = checkpoint.Load(key);
                Assert.True(back.eq(t).all().item<bool>(), $"{name}: {key} differs after the round trip");
            }
        }
        var caseJson = Path.Combine(FixtureCheck.ModelDir(name), "case.json");
        using var fromBin = ModelFactory.Load(dir, ScalarType.Float32);
        using var fromSafetensors = ModelFactory.Load(FixtureCheck.ModelDir(name), ScalarType.Float32);
        var a = RunOn(fromBin, caseJson);
        var b = RunOn(fromSafetensors, caseJson);
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        foreach (var (key, t) in b)
            Assert.True(a[key].eq(t).all().item<bool>(), $"{name}: {key} differs between the .bin and the safetensors model");
        output.WriteLine($"{name}: {tensors.Count} tensors, {b.Count} captures identical");
    }

    [Theory]
    [InlineData("llama-tiny", ScalarType.BFloat16)]
    [InlineData("t5-v1_0-tiny", ScalarType.BFloat16)]
    [InlineData("gpt2-tiny", ScalarType.Float16)]
    public void LegacyAndShardedFilesInOtherDtypesRoundTrip(string name, ScalarType stored)
    {
        using var scope = NewDisposeScope();
        var tensors = FixtureTensors(name);

        var legacy = NewModelDir(name);
        TorchSaveWriter.WriteLegacy(Path.Combine(legacy, "pytorch_model.bin"), TorchSaveWriter.StateDict.Simple(tensors, stored));

        var sharded = NewModelDir(name);
        var half = tensors.Count / 2;
        TorchSaveWriter.WriteZip(Path.Combine(sharded, "pytorch_model-00001-of-00002.bin"), Packed(tensors[..half], stored));
        TorchSaveWriter.WriteZip(Path.Combine(sharded, "pytorch_model-00002-of-00002.bin"), TorchSaveWriter.StateDict.Simple(tensors[half..], stored));
        var map = new JsonObject();
        for (var i = 0; i < tensors.Count; i++) map[tensors[i].Key] = i < half ? "pytorch_model-00001-of-00002.bin" : "pytorch_model-00002-of-00002.bin";
        File.WriteAllText(Path.Combine(sharded, "pytorch_model.bin.index.json"),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());

        foreach (var dir in new[] { legacy, sharded })
        {
            using var checkpoint = new Checkpoint(dir);
            foreach (var (key, t) in tensors)
            {
                var entry = checkpoint.Entry(key);
                Assert.Equal(stored, entry.DType);
                using var want = t.to_type(stored);
                using var back = checkpoint.Load(key);
                Assert.True(back.eq(want).all().item<bool>(), $"{dir}: {key}");
                // converting on load, in small chunks, gives what converting the whole tensor gives
                using var wide = empty(entry.Shape, ScalarType.Float32);
                entry.ReadInto(wide, chunkElements: 7);
                Assert.True(wide.eq(want.to_type(ScalarType.Float32)).all().item<bool>(), $"{dir}: {key} converted chunk-wise");
            }
            // and the model loads from it in the stored dtype, matching the safetensors model loaded in that dtype
            using var model = ModelFactory.Load(dir, stored);
            using var reference = ModelFactory.Load(FixtureCheck.ModelDir(name), stored);
            var caseJson = Path.Combine(FixtureCheck.ModelDir(name), "case.json");
            var a = RunOn(model, caseJson);
            var b = RunOn(reference, caseJson);
            foreach (var (key, t) in b) Assert.True(a[key].eq(t).all().item<bool>(), $"{dir}: {key}");
        }
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("torch", "load")]
    [InlineData("torch._utils", "_rebuild_device_tensor_from_numpy")]
    public void RefusesAnyOtherGlobal(string module, string function)
    {
        var p = new TorchSaveWriter.Pickle();
        p.Op(0x80).Byte(2).Global(module, function).Op('(').Str("echo pwned").Op('t').Op('R').Op('.');
        var path = Path.Combine(Repo.TempDir(), "evil.pkl");
        File.WriteAllBytes(path, p.Bytes());
        using var stream = File.OpenRead(path);
        var e = Assert.Throws<InvalidDataException>(() =>
            new TorchUnpickler(stream, path, _ => throw new InvalidOperationException()).Load());
        Assert.Contains($"{module}.{function}", e.Message);
    }

    [Fact]
    public void RefusesObjectBuildingOpcodesAndUnknownPersistentIds()
    {
        // NEWOBJ (0x81) would construct an arbitrary class
        var newobj = new TorchSaveWriter.Pickle().Op(0x80).Byte(2).Global("collections", "OrderedDict").Op(')').Op(0x81).Op('.');
        Assert.Throws<InvalidDataException>(() => new TorchUnpickler(new MemoryStream(newobj.Bytes()), "x", _ => "s").Load());
        var pid = new object?[] { "module", "x" };
        Assert.Throws<InvalidDataException>(() => TorchUnpickler.StorageFromPersistentId(pid, "x"));
    }

    [Fact]
    public void MissingWeightsNameTheCandidates()
    {
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"llama\"}");
        var e = Assert.Throws<FileNotFoundException>(() => new Checkpoint(dir));
        foreach (var n in Checkpoint.WeightFileNames) Assert.Contains(n, e.Message);
    }

    /// <summary>Loading in bfloat16 fills the parameters with exactly the stored values rounded to bfloat16.</summary>
    [Theory]
    [InlineData("llama-tiny")]
    [InlineData("falcon-7b-tiny")]
    [InlineData("flan-t5-tiny")]
    public void LoadsStraightIntoTheRequestedDtype(string name)
    {
        using var scope = NewDisposeScope();
        var dir = FixtureCheck.ModelDir(name);
        using var checkpoint = new Checkpoint(dir);
        using var model = ModelFactory.Load(dir, ScalarType.BFloat16);
        var parameters = ((nn.Module)model).named_parameters().ToList();
        Assert.NotEmpty(parameters);
        var checkedCount = 0;
        foreach (var (pname, p) in parameters)
        {
            var key = checkpoint.Contains(pname) ? pname : checkpoint.TensorNames.FirstOrDefault(k => k.EndsWith(pname, StringComparison.Ordinal));
            if (key is null) continue;
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            using var want = checkpoint.Load(key).to_type(ScalarType.BFloat16);
            Assert.True(p.eq(want).all().item<bool>(), $"{name}: {pname}");
            checkedCount++;
        }
        Assert.True(checkedCount >= parameters.Count / 2, $"{name}: only {checkedCount} of {parameters.Count} parameters checked");
    }
}
