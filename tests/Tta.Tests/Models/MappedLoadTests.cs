using System.Text;
using Tta.Core;
using Tta.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Tests.Models;

/// <summary>
/// Loading maps the checkpoint: a weight stored in the load dtype is a view of the file's pages (copy-on-write), equal
/// to what reading it gives; a write to it stays in the process; a tensor whose offset does not suit a view is read.
/// </summary>
public class MappedLoadTests
{
    [Fact]
    public void MappedWeightsEqualReadOnesAndWritesNeverReachTheFile()
    {
        var dir = FixtureCheck.ModelDir("llama-tiny");
        var weights = Path.Combine(dir, "model.safetensors");
        var before = Hashing.Sha256File(weights);
        using var checkpoint = new Checkpoint(dir);
        using (var model = (nn.Module)ModelFactory.Load(dir, ScalarType.Float32))
        {
            var parameters = model.named_parameters().ToList();
            Assert.NotEmpty(parameters);
            foreach (var (name, p) in parameters)
            {
                using var read = checkpoint.Load(name);
                Assert.True(p.eq(read).all().item<bool>(), name);
                using var view = checkpoint.Entry(name).MapView(); // float32 in the file, float32 loaded: mapped, not read
                Assert.NotNull(view);
            }
            using (no_grad())
                foreach (var (_, p) in parameters) p.add_(ones_like(p)); // private pages: the process's own copy
            var (first, value) = parameters[0];
            using var original = checkpoint.Load(first);
            Assert.True(value.eq(original.add(1)).all().item<bool>());
        }
        Assert.Equal(before, Hashing.Sha256File(weights));
    }

    [Fact]
    public void TensorsAtOffsetsAViewCannotUseAreRead()
    {
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        // A header of 4k+2 bytes puts the float32 data at an offset that is not a multiple of 4.
        var header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
        header += new string(' ', (6 - header.Length % 4) % 4);
        Assert.Equal(2, header.Length % 4);
        var values = new float[] { 1, 2, 3, 4, 5, 6 };
        using (var stream = File.Create(Path.Combine(dir, "model.safetensors")))
        {
            stream.Write(BitConverter.GetBytes((long)header.Length));
            stream.Write(Encoding.UTF8.GetBytes(header));
            foreach (var v in values) stream.Write(BitConverter.GetBytes(v));
        }
        using var checkpoint = new Checkpoint(dir);
        Assert.Null(checkpoint.Entry("w").MapView());
        using var module = new OneWeight([2, 3]);
        checkpoint.LoadInto(module);
        Assert.Equal(values, NativeTensor.ToFloatArray(module.Weight));
    }

    private sealed class OneWeight : nn.Module
    {
        private readonly Parameter w;

        public OneWeight(long[] shape) : base(nameof(OneWeight))
        {
            w = new Parameter(empty(shape), requires_grad: false);
            RegisterComponents();
        }

        public Tensor Weight => w;
    }
}
