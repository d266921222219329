using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Tta.Models;
using Tta.Core;
using static TorchSharp.torch;

namespace Tta.Bench;

/// <summary>What <see cref="SyntheticCheckpoint.Write"/> wrote.</summary>
public sealed record SyntheticResult(string Directory, string Shape, ScalarType DType, long Layers, double Parameters,
    long WeightBytes, IReadOnlyList<string> Files)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Shape}: {Parameters:N0} parameters in {Layers} blocks, {WeightBytes / 1e9:0.###} GB of {DType} weights in {Files.Count} file(s) ({string.Join(", ", Files)}) -> {Directory}");
}

/// <summary>
/// Writes a synthetic Hugging Face checkpoint of a real model's shape (<see cref="SyntheticShape"/>): its real
/// config.json, every tensor under its real name, shape and dtype (the architecture's own
/// <see cref="ModelFacts.Layout"/>), sharded as the Hub's files are (<c>model-0000k-of-0000n.safetensors</c> and
/// <c>model.safetensors.index.json</c>), with random weights, plus a tokenizer.json (<see cref="SyntheticTokenizer"/>).
/// Tensors are streamed to disk from one pool of random normal values (N(0, 0.02); norm scales 1, biases 0), so a
/// 14 GB checkpoint needs a few MB of memory; with <c>randomWeights: false</c> the data is left as holes in sparse
/// files (zeros, instant, for memory planning). Used by Bench, the GC-storm test and <c>tta-bench synth</c>.
/// </summary>
public static class SyntheticCheckpoint
{
    private const int PoolElements = 1 << 20;

    /// <param name="layers">blocks per stack instead of the real count (a reduced-depth model of real widths).</param>
    /// <param name="shards">number of weight files instead of the shape's own split.</param>
    /// <param name="overrides">config.json values to change (e.g. a smaller hidden size).</param>
    public static SyntheticResult Write(string directory, string shapeName, ScalarType? dtype = null, int? layers = null,
        int? shards = null, bool randomWeights = true, IReadOnlyDictionary<string, JsonNode?>? overrides = null)
    {
        var shape = SyntheticShape.Named(shapeName);
        var config = shape.Config;
        if (layers is { } n)
        {
            if (n < 1) throw new ArgumentException("--layers must be at least 1");
            foreach (var key in shape.LayerKeys) config[key] = n;
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, JsonNode?>()) config[key] = value?.DeepClone();
        var type = dtype ?? DTypes.Parse(shape.DType);
        config["torch_dtype"] = DTypes.Name(type);
        var facts = ModelFactory.Facts(config, directory);
        var element = SafetensorsFile.ElementSize(type);
        var tensors = facts.Layout.Expand().ToList();
        var total = tensors.Sum(t => (long)t.Elements * element);
        var groups = shards is { } k ? SplitEvenly(tensors, element, total, Math.Max(1, k)) : SplitGreedily(tensors, element, shape.MaxShardBytes);

        Directory.CreateDirectory(directory);
        foreach (var stale in Checkpoint.WeightFileNames.Select(f => Path.Combine(directory, f)).Where(File.Exists)) File.Delete(stale);
        var pool = Pool(type);
        var files = new List<string>();
        var weightMap = new JsonObject();
        for (var g = 0; g < groups.Count; g++)
        {
            var name = groups.Count == 1 ? "model.safetensors"
                : string.Create(CultureInfo.InvariantCulture, $"model-{g + 1:00000}-of-{groups.Count:00000}.safetensors");
            WriteShard(Path.Combine(directory, name), groups[g], type, pool, randomWeights);
            files.Add(name);
            foreach (var t in groups[g]) weightMap[t.Name] = name;
        }
        if (groups.Count > 1)
        {
            var sorted = new JsonObject();
            foreach (var (k2, v) in weightMap.OrderBy(kv => kv.Key, StringComparer.Ordinal)) sorted[k2] = v!.DeepClone();
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = sorted };
            AtomicFile.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), index.ToIndentedJson());
            files.Add("model.safetensors.index.json");
        }
        AtomicFile.WriteAllText(Path.Combine(directory, "tokenizer.json"),
            SyntheticTokenizer.Create(shape.Tokenizer, shape.TokenizerVocab).ToJsonString());
        AtomicFile.WriteAllText(Path.Combine(directory, "config.json"), config.ToIndentedJson());
        return new SyntheticResult(directory, shape.Name, type, facts.Blocks, facts.Layout.ParameterCount, total, files);
    }

    /// <summary>Hugging Face's split: a tensor that would overflow the current shard starts the next one (0: one file).</summary>
    private static List<List<TensorSpec>> SplitGreedily(List<TensorSpec> tensors, int element, long maxShard)
    {
        var groups = new List<List<TensorSpec>> { new() };
        long size = 0;
        foreach (var t in tensors)
        {
            var bytes = (long)t.Elements * element;
            if (maxShard > 0 && groups[^1].Count > 0 && size + bytes > maxShard)
            {
                groups.Add([]);
                size = 0;
            }
            groups[^1].Add(t);
            size += bytes;
        }
        return groups;
    }

    /// <summary>Exactly <paramref name="count"/> shards of about equal size (fewer only if a tensor is larger than a share).</summary>
    private static List<List<TensorSpec>> SplitEvenly(List<TensorSpec> tensors, int element, long total, int count)
    {
        var groups = Enumerable.Range(0, count).Select(_ => new List<TensorSpec>()).ToList();
        long offset = 0;
        foreach (var t in tensors)
        {
            groups[(int)Math.Min(count - 1, (double)offset * count / Math.Max(1, total))].Add(t);
            offset += (long)t.Elements * element;
        }
        return groups.Where(g => g.Count > 0).ToList();
    }

    private sealed record EncodedPool(byte[] Normal, byte[] One, int Element);

    /// <summary>One block of N(0, 0.02) values (seeded, so every run writes the same bytes), and the value 1, in the dtype's bytes.</summary>
    private static EncodedPool Pool(ScalarType type)
    {
        var random = new Random(20230818);
        var element = SafetensorsFile.ElementSize(type);
        var normal = new byte[PoolElements * element];
        for (var i = 0; i < PoolElements; i++)
        {
            // Box–Muller
            var u = 1.0 - random.NextDouble();
            var v = random.NextDouble();
            Encode((float)(0.02 * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v)), type, normal.AsSpan(i * element, element));
        }
        var one = new byte[element];
        Encode(1f, type, one);
        return new EncodedPool(normal, one, element);
    }

    private static void Encode(float value, ScalarType type, Span<byte> into)
    {
        switch (type)
        {
            case ScalarType.Float32:
                BinaryPrimitives.WriteSingleLittleEndian(into, value);
                break;
            case ScalarType.Float16:
                BinaryPrimitives.WriteHalfLittleEndian(into, (Half)value);
                break;
            default:
                // bfloat16: the upper half of the float32, rounded to nearest even.
                var bits = BitConverter.SingleToUInt32Bits(value);
                BinaryPrimitives.WriteUInt16LittleEndian(into, (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16));
                break;
        }
    }

    private static void WriteShard(string path, List<TensorSpec> tensors, ScalarType type, EncodedPool pool, bool randomWeights)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var t in tensors)
        {
            var bytes = (long)t.Elements * pool.Element;
            header[t.Name] = new JsonObject
            {
                ["dtype"] = SafetensorsFile.ToSafetensorsDType(type),
                ["shape"] = new JsonArray([.. t.Shape.Select(s => (JsonNode)s)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = new byte[(json.Length + 7) / 8 * 8];
        Array.Fill(padded, (byte)' ');
        json.CopyTo(padded, 0);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((long)padded.Length));
            stream.Write(padded);
            if (!randomWeights)
            {
                stream.SetLength(8 + padded.Length + offset); // holes: zeros on every read, no disk blocks
                return;
            }
            var ones = new byte[1 << 20];
            for (var i = 0; i < ones.Length; i += pool.Element) pool.One.CopyTo(ones, i);
            var zeros = new byte[1 << 20];
            foreach (var t in tensors)
            {
                var remaining = (long)t.Elements * pool.Element;
                // Each tensor starts elsewhere in the pool, so no two matrices (or rows) repeat the same values.
                var at = (int)((uint)StableHash(t.Name) % PoolElements) * pool.Element;
                while (remaining > 0)
                {
                    var source = t.Fill switch { TensorFill.Ones => ones, TensorFill.Zeros => zeros, _ => pool.Normal };
                    var start = t.Fill == TensorFill.Normal ? at : 0;
                    var n = (int)Math.Min(remaining, source.Length - start);
                    stream.Write(source, start, n);
                    remaining -= n;
                    at = (at + n) % pool.Normal.Length;
                }
            }
        });
    }

    private static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s) h = unchecked(h * 31 + c);
        return h;
    }
}
