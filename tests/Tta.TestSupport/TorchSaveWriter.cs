using System.IO.Compression;
using System.Text;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Tests;

/// <summary>
/// Writes state dicts the way <c>torch.save</c> lays them out, from the pickle opcodes up (this machine has no Python
/// with torch): the zip archive (<c>archive/data.pkl</c> + <c>archive/data/&lt;key&gt;</c>) and the legacy stream.
/// Each entry is a view of a storage: several entries may share one storage at different offsets, and a view may be
/// strided (e.g. a transposed weight), as real checkpoints can be.
/// </summary>
public static class TorchSaveWriter
{
    /// <summary>One state-dict entry: <paramref name="Name"/> views <paramref name="Storage"/> at an element offset.</summary>
    public sealed record View(string Name, string Storage, long Offset, long[] Shape, long[] Strides);

    public sealed class StateDict
    {
        public Dictionary<string, Tensor> Storages { get; } = new(StringComparer.Ordinal); // 1-D, contiguous
        public List<View> Views { get; } = [];

        /// <summary>Every tensor as a contiguous view of its own storage, in <paramref name="dtype"/>.</summary>
        public static StateDict Simple(IEnumerable<KeyValuePair<string, Tensor>> tensors, ScalarType dtype)
        {
            var d = new StateDict();
            var i = 0;
            foreach (var (name, t) in tensors)
            {
                var key = (i++).ToString(System.Globalization.CultureInfo.InvariantCulture);
                d.Storages[key] = t.to_type(dtype).contiguous().reshape(-1);
                d.Views.Add(new View(name, key, 0, t.shape, StoredTensor.ContiguousStrides(t.shape)));
            }
            return d;
        }
    }

    private static readonly Dictionary<ScalarType, string> StorageNames = new()
    {
        [ScalarType.Float32] = "FloatStorage",
        [ScalarType.Float16] = "HalfStorage",
        [ScalarType.BFloat16] = "BFloat16Storage",
        [ScalarType.Float64] = "DoubleStorage",
        [ScalarType.Int64] = "LongStorage",
        [ScalarType.Int32] = "IntStorage",
    };

    public static void WriteZip(string path, StateDict dict, string archiveName = "archive")
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        void Entry(string name, byte[] bytes)
        {
            using var s = zip.CreateEntry($"{archiveName}/{name}", CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
        Entry("data.pkl", StatePickle(dict, legacy: false));
        Entry("byteorder", Encoding.ASCII.GetBytes("little"));
        foreach (var (key, storage) in dict.Storages) Entry($"data/{key}", storage.bytes.ToArray());
        Entry("version", Encoding.ASCII.GetBytes("3\n"));
    }

    /// <summary>The pre-1.6 format: magic, protocol, system info, state dict, storage keys, then the storages.</summary>
    public static void WriteLegacy(string path, StateDict dict)
    {
        using var file = File.Create(path);
        var magic = new Pickle();
        magic.Op(0x80).Byte(2).Op(0x8a).Byte(10).Raw([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]).Op('.'); // LONG1 0x1950a86a20f9469cfc6c
        file.Write(magic.Bytes());
        file.Write(new Pickle().Op(0x80).Byte(2).Int(1001).Op('.').Bytes());
        var info = new Pickle().Op(0x80).Byte(2).Op('}').Op('(').Str("protocol_version").Int(1001).Str("little_endian").Op(0x88)
            .Str("type_sizes").Op('}').Op('(').Str("short").Int(2).Str("int").Int(4).Str("long").Int(4).Op('u').Op('u').Op('.');
        file.Write(info.Bytes());
        file.Write(StatePickle(dict, legacy: true));
        var keys = dict.Storages.Keys.ToList();
        var list = new Pickle().Op(0x80).Byte(2).Op(']').Op('(');
        foreach (var k in keys) list.Str(k);
        file.Write(list.Op('e').Op('.').Bytes());
        foreach (var k in keys)
        {
            file.Write(BitConverter.GetBytes(dict.Storages[k].NumberOfElements));
            file.Write(dict.Storages[k].bytes);
        }
    }

    /// <summary>A pickle (protocol 2) of OrderedDict name -> _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()).</summary>
    private static byte[] StatePickle(StateDict dict, bool legacy)
    {
        var p = new Pickle();
        p.Op(0x80).Byte(2);
        p.Global("collections", "OrderedDict").Put(0).Op(')').Op('R').Put(1);
        p.Op('(');
        var memo = 2;
        var typeMemo = new Dictionary<ScalarType, int>();
        int? rebuild = null;
        foreach (var v in dict.Views)
        {
            var storage = dict.Storages[v.Storage];
            p.Str(v.Name);
            if (rebuild is { } r) p.Get(r);
            else
            {
                rebuild = memo++;
                p.Global("torch._utils", "_rebuild_tensor_v2").Put(rebuild.Value);
            }
            p.Op('(');
            // persistent id ('storage', torch.XStorage, key, 'cpu', numel[, None])
            p.Op('(').Str("storage");
            if (typeMemo.TryGetValue(storage.dtype, out var tm)) p.Get(tm);
            else p.Global("torch", StorageNames[storage.dtype]).Put(typeMemo[storage.dtype] = memo++);
            p.Str(v.Storage).Str("cpu").Int(storage.NumberOfElements);
            if (legacy) p.Op('N');
            p.Op('t').Op('Q');
            p.Int(v.Offset).Tuple(v.Shape).Tuple(v.Strides).Op(0x89);
            p.Get(0).Op(')').Op('R'); // backward hooks: OrderedDict()
            p.Op('t').Op('R').Put(memo++);
        }
        p.Op('u');
        // the state dict's _metadata attribute, set through BUILD as pickle does for OrderedDict subclasses' state
        p.Op('}').Str("_metadata").Get(0).Op(')').Op('R').Op('(').Str("").Op('}').Str("version").Int(1).Op('s').Op('u').Op('s');
        p.Op('b').Op('.');
        return p.Bytes();
    }

    /// <summary>Emits pickle opcodes byte by byte.</summary>
    public sealed class Pickle
    {
        private readonly MemoryStream s = new();

        public byte[] Bytes() => s.ToArray();
        public Pickle Op(int op) { s.WriteByte((byte)op); return this; }
        public Pickle Byte(int b) { s.WriteByte((byte)b); return this; }
        public Pickle Raw(byte[] b) { s.Write(b); return this; }

        public Pickle Global(string module, string name) => Op('c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

        public Pickle Str(string text)
        {
            var b = Encoding.UTF8.GetBytes(text);
            return Op('X').Raw(BitConverter.GetBytes(b.Length)).Raw(b);
        }

        public Pickle Int(long v)
        {
            if (v is >= 0 and < 256) return Op('K').Byte((int)v);
            if (v is >= 0 and < 65536) return Op('M').Raw(BitConverter.GetBytes((ushort)v));
            if (v is >= int.MinValue and <= int.MaxValue) return Op('J').Raw(BitConverter.GetBytes((int)v));
            return Op(0x8a).Byte(8).Raw(BitConverter.GetBytes(v)); // LONG1, 8 bytes two's complement
        }

        public Pickle Tuple(long[] items)
        {
            switch (items.Length)
            {
                case 0: return Op(')');
                case 1: Int(items[0]); return Op(0x85);
                case 2: Int(items[0]).Int(items[1]); return Op(0x86);
                case 3: Int(items[0]).Int(items[1]).Int(items[2]); return Op(0x87);
                default:
                    Op('(');
                    foreach (var i in items) Int(i);
                    return Op('t');
            }
        }

        public Pickle Put(int i) => i < 256 ? Op('q').Byte(i) : Op('r').Raw(BitConverter.GetBytes(i));
        public Pickle Get(int i) => i < 256 ? Op('h').Byte(i) : Op('j').Raw(BitConverter.GetBytes(i));
    }
}
