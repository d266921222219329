using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

/// <summary>
/// The parts of an ONNX <c>ModelProto</c> that weight conversion needs, read straight from the protobuf wire format
/// (field numbers from onnx.proto3). Tensor payloads stay slices of the input buffer, so nothing is copied twice.
/// </summary>
public sealed class OnnxModel
{
    public long IrVersion { get; private init; }
    public string ProducerName { get; private init; } = "";
    public string ProducerVersion { get; private init; } = "";
    public IReadOnlyList<(string Domain, long Version)> OpsetImports { get; private init; } = [];
    public OnnxGraph Graph { get; private init; } = OnnxGraph.Empty;

    public static OnnxModel Load(string path) => Parse(File.ReadAllBytes(path));

    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes)
    {
        long ir = 0;
        string producer = "", producerVersion = "";
        var opsets = new List<(string, long)>();
        OnnxGraph? graph = null;
        var r = new ProtoReader(bytes);
        try
        {
            while (r.Next(out var field, out var wire))
            {
                switch (field)
                {
                    case 1 when wire == ProtoReader.Varint: ir = (long)r.ReadVarint(); break;
                    case 2 when wire == ProtoReader.Len: producer = r.ReadString(); break;
                    case 3 when wire == ProtoReader.Len: producerVersion = r.ReadString(); break;
                    case 7 when wire == ProtoReader.Len: graph = OnnxGraph.Parse(r.ReadBytes()); break;
                    case 8 when wire == ProtoReader.Len: opsets.Add(ParseOpset(r.ReadBytes())); break;
                    default: r.Skip(wire); break;
                }
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException("not an ONNX model (malformed protobuf)", e);
        }
        return new OnnxModel
        {
            IrVersion = ir,
            ProducerName = producer,
            ProducerVersion = producerVersion,
            OpsetImports = opsets,
            Graph = graph ?? throw new InvalidDataException("ONNX model has no graph"),
        };
    }

    private static (string, long) ParseOpset(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        string domain = "";
        long version = 0;
        while (r.Next(out var field, out var wire))
        {
            if (field == 1 && wire == ProtoReader.Len) domain = r.ReadString();
            else if (field == 2 && wire == ProtoReader.Varint) version = (long)r.ReadVarint();
            else r.Skip(wire);
        }
        return (domain, version);
    }
}

/// <summary>A <c>GraphProto</c>: nodes in file (topological) order, initializers, inputs and outputs.</summary>
public sealed class OnnxGraph
{
    internal static readonly OnnxGraph Empty = new("", [], [], [], [], []);

    private readonly Dictionary<string, OnnxTensor> initializerByName;
    private readonly Dictionary<string, OnnxNode> producerByOutput;
    private readonly Dictionary<string, List<OnnxNode>> consumersByInput;

    public string Name { get; }
    public IReadOnlyList<OnnxNode> Nodes { get; }
    public IReadOnlyList<OnnxTensor> Initializers { get; }
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }
    public IReadOnlyList<OnnxValueInfo> ValueInfo { get; }

    private OnnxGraph(string name, List<OnnxNode> nodes, List<OnnxTensor> initializers, List<OnnxValueInfo> inputs,
        List<OnnxValueInfo> outputs, List<OnnxValueInfo> valueInfo)
    {
        Name = name;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
        ValueInfo = valueInfo;
        initializerByName = new(StringComparer.Ordinal);
        foreach (var t in initializers) initializerByName[t.Name] = t;
        producerByOutput = new(StringComparer.Ordinal);
        consumersByInput = new(StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            foreach (var o in n.Outputs.Where(o => o.Length > 0)) producerByOutput[o] = n;
            foreach (var i in n.Inputs.Where(i => i.Length > 0).Distinct())
            {
                if (!consumersByInput.TryGetValue(i, out var list)) consumersByInput[i] = list = [];
                list.Add(n);
            }
        }
    }

    internal static OnnxGraph Parse(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        string name = "";
        var nodes = new List<OnnxNode>();
        var inits = new List<OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        var valueInfo = new List<OnnxValueInfo>();
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == ProtoReader.Len: nodes.Add(OnnxNode.Parse(r.ReadBytes())); break;
                case 2 when wire == ProtoReader.Len: name = r.ReadString(); break;
                case 5 when wire == ProtoReader.Len: inits.Add(OnnxTensor.Parse(r.ReadBytes())); break;
                case 11 when wire == ProtoReader.Len: inputs.Add(OnnxValueInfo.Parse(r.ReadBytes())); break;
                case 12 when wire == ProtoReader.Len: outputs.Add(OnnxValueInfo.Parse(r.ReadBytes())); break;
                case 13 when wire == ProtoReader.Len: valueInfo.Add(OnnxValueInfo.Parse(r.ReadBytes())); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxGraph(name, nodes, inits, inputs, outputs, valueInfo);
    }

    public bool TryGetInitializer(string name, out OnnxTensor tensor) => initializerByName.TryGetValue(name, out tensor!);

    /// <summary>The node that produces <paramref name="value"/>, or null for graph inputs and initializers.</summary>
    public OnnxNode? Producer(string value) => producerByOutput.GetValueOrDefault(value);

    public IReadOnlyList<OnnxNode> Consumers(string value) =>
        consumersByInput.TryGetValue(value, out var list) ? list : [];

    /// <summary>A value known without running the graph: an initializer or the output of a <c>Constant</c> node.</summary>
    public bool TryGetConstant(string value, out OnnxTensor tensor)
    {
        if (initializerByName.TryGetValue(value, out tensor!)) return true;
        if (Producer(value) is { OpType: "Constant" } c && c.Attributes.TryGetValue("value", out var a) && a.Tensor is { } t)
        {
            tensor = t;
            return true;
        }
        tensor = null!;
        return false;
    }
}

/// <summary>A <c>NodeProto</c>.</summary>
public sealed class OnnxNode
{
    public string Name { get; private init; } = "";
    public string OpType { get; private init; } = "";
    public string Domain { get; private init; } = "";
    public IReadOnlyList<string> Inputs { get; private init; } = [];
    public IReadOnlyList<string> Outputs { get; private init; } = [];
    public IReadOnlyDictionary<string, OnnxAttribute> Attributes { get; private init; } =
        new Dictionary<string, OnnxAttribute>();

    public override string ToString() =>
        $"{OpType} {Name} ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";

    internal static OnnxNode Parse(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attrs = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        string name = "", op = "", domain = "";
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == ProtoReader.Len: inputs.Add(r.ReadString()); break;
                case 2 when wire == ProtoReader.Len: outputs.Add(r.ReadString()); break;
                case 3 when wire == ProtoReader.Len: name = r.ReadString(); break;
                case 4 when wire == ProtoReader.Len: op = r.ReadString(); break;
                case 5 when wire == ProtoReader.Len:
                    var a = OnnxAttribute.Parse(r.ReadBytes());
                    attrs[a.Name] = a;
                    break;
                case 7 when wire == ProtoReader.Len: domain = r.ReadString(); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxNode { Name = name, OpType = op, Domain = domain, Inputs = inputs, Outputs = outputs, Attributes = attrs };
    }
}

/// <summary>An <c>AttributeProto</c> (graph-valued attributes are skipped).</summary>
public sealed class OnnxAttribute
{
    public string Name { get; private init; } = "";
    /// <summary>AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS, 9 TENSORS.</summary>
    public int Type { get; private init; }
    public float Float { get; private init; }
    public long Int { get; private init; }
    public byte[] Bytes { get; private init; } = [];
    public string String => Encoding.UTF8.GetString(Bytes);
    public OnnxTensor? Tensor { get; private init; }
    public IReadOnlyList<float> Floats { get; private init; } = [];
    public IReadOnlyList<long> Ints { get; private init; } = [];
    public IReadOnlyList<byte[]> Strings { get; private init; } = [];

    internal static OnnxAttribute Parse(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        string name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        byte[] s = [];
        OnnxTensor? t = null;
        var floats = new List<float>();
        var ints = new List<long>();
        var strings = new List<byte[]>();
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == ProtoReader.Len: name = r.ReadString(); break;
                case 2 when wire == ProtoReader.Fixed32: f = r.ReadFloat(); break;
                case 3 when wire == ProtoReader.Varint: i = (long)r.ReadVarint(); break;
                case 4 when wire == ProtoReader.Len: s = r.ReadBytes().ToArray(); break;
                case 5 when wire == ProtoReader.Len: t = OnnxTensor.Parse(r.ReadBytes()); break;
                case 7: r.ReadFloats(wire, floats); break;
                case 8: r.ReadVarints(wire, ints); break;
                case 9 when wire == ProtoReader.Len: strings.Add(r.ReadBytes().ToArray()); break;
                case 20 when wire == ProtoReader.Varint: type = (int)r.ReadVarint(); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxAttribute { Name = name, Type = type, Float = f, Int = i, Bytes = s, Tensor = t, Floats = floats, Ints = ints, Strings = strings };
    }
}

/// <summary>A <c>TensorProto</c>: dims, element type and data (raw_data or one of the typed repeated fields).</summary>
public sealed class OnnxTensor
{
    public const int Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
        Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, BFloat16 = 16;

    public string Name { get; private init; } = "";
    public long[] Dims { get; private init; } = [];
    public int DataType { get; private init; }
    /// <summary>raw_data (little-endian), empty when the data sit in a typed field.</summary>
    public ReadOnlyMemory<byte> RawData { get; private init; }
    public bool HasExternalData { get; private init; }
    private IReadOnlyList<float> FloatData { get; init; } = [];
    private IReadOnlyList<long> IntData { get; init; } = []; // int32_data / int64_data (varints) as long
    private IReadOnlyList<double> DoubleData { get; init; } = [];

    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);

    public override string ToString() => $"{Name} [{string.Join(", ", Dims)}] type {DataType}";

    internal static OnnxTensor Parse(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        var dims = new List<long>();
        var floats = new List<float>();
        var ints = new List<long>();
        var doubles = new List<double>();
        int type = 0;
        string name = "";
        ReadOnlyMemory<byte> raw = default;
        bool external = false;
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: r.ReadVarints(wire, dims); break;
                case 2 when wire == ProtoReader.Varint: type = (int)r.ReadVarint(); break;
                case 4: r.ReadFloats(wire, floats); break;
                case 5: r.ReadVarints(wire, ints, zigzag: false, int32: true); break;
                case 7: r.ReadVarints(wire, ints); break;
                case 8 when wire == ProtoReader.Len: name = r.ReadString(); break;
                case 9 when wire == ProtoReader.Len: raw = r.ReadBytes(); break;
                case 10: r.ReadDoubles(wire, doubles); break;
                case 13 when wire == ProtoReader.Len: external = true; r.ReadBytes(); break;
                case 14 when wire == ProtoReader.Varint: external |= r.ReadVarint() == 1; break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxTensor
        {
            Name = name,
            Dims = dims.ToArray(),
            DataType = type,
            RawData = raw,
            HasExternalData = external,
            FloatData = floats,
            IntData = ints,
            DoubleData = doubles,
        };
    }

    private void CheckCount(long count)
    {
        if (HasExternalData) throw new NotSupportedException($"ONNX tensor '{Name}' keeps its data in an external file");
        if (count != ElementCount)
            throw new InvalidDataException($"ONNX tensor '{Name}': {count} values for shape [{string.Join(", ", Dims)}]");
    }

    /// <summary>The values as float32 (from float, float16, bfloat16 or double storage).</summary>
    public float[] ToFloats()
    {
        var raw = RawData.Span;
        float[] result;
        switch (DataType)
        {
            case Float when raw.Length > 0:
                CheckCount(raw.Length / 4);
                result = new float[raw.Length / 4];
                raw.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                    for (var k = 0; k < result.Length; k++) result[k] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * k)..]);
                return result;
            case Float:
                CheckCount(FloatData.Count);
                return FloatData.ToArray();
            case Float16 or BFloat16:
                ushort[] halves;
                if (raw.Length > 0)
                {
                    halves = new ushort[raw.Length / 2];
                    for (var k = 0; k < halves.Length; k++) halves[k] = BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * k)..]);
                }
                else halves = IntData.Select(v => (ushort)v).ToArray(); // stored in int32_data
                CheckCount(halves.Length);
                return DataType == Float16
                    ? halves.Select(h => (float)BitConverter.UInt16BitsToHalf(h)).ToArray()
                    : halves.Select(h => BitConverter.Int32BitsToSingle(h << 16)).ToArray();
            case Double:
                double[] d;
                if (raw.Length > 0)
                {
                    d = new double[raw.Length / 8];
                    for (var k = 0; k < d.Length; k++) d[k] = BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * k)..]);
                }
                else d = DoubleData.ToArray();
                CheckCount(d.Length);
                return d.Select(x => (float)x).ToArray();
            default:
                throw new NotSupportedException($"ONNX tensor '{Name}': element type {DataType} is not a float type");
        }
    }

    /// <summary>The values as int64 (from any integer storage).</summary>
    public long[] ToInt64s()
    {
        var raw = RawData.Span;
        long[] result;
        if (raw.Length > 0)
        {
            int size = DataType switch
            {
                Int64 or UInt64 => 8,
                Int32 or UInt32 => 4,
                Int16 or UInt16 => 2,
                Int8 or UInt8 or Bool => 1,
                _ => throw new NotSupportedException($"ONNX tensor '{Name}': element type {DataType} is not an integer type"),
            };
            result = new long[raw.Length / size];
            for (var k = 0; k < result.Length; k++)
            {
                var s = raw[(k * size)..];
                result[k] = DataType switch
                {
                    Int64 => BinaryPrimitives.ReadInt64LittleEndian(s),
                    UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(s),
                    Int32 => BinaryPrimitives.ReadInt32LittleEndian(s),
                    UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                    Int16 => BinaryPrimitives.ReadInt16LittleEndian(s),
                    UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                    Int8 => (sbyte)s[0],
                    _ => s[0],
                };
            }
        }
        else if (DataType is Int64 or UInt64 or Int32 or UInt32 or Int16 or UInt16 or Int8 or UInt8 or Bool)
            result = IntData.ToArray();
        else throw new NotSupportedException($"ONNX tensor '{Name}': element type {DataType} is not an integer type");
        CheckCount(result.Length);
        return result;
    }
}

/// <summary>A <c>ValueInfoProto</c> of a tensor: name, element type and dims (null where symbolic).</summary>
public sealed record OnnxValueInfo(string Name, int ElemType, IReadOnlyList<long?> Dims, IReadOnlyList<string?> DimParams)
{
    internal static OnnxValueInfo Parse(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        string name = "";
        int elem = 0;
        var dims = new List<long?>();
        var pars = new List<string?>();
        while (r.Next(out var field, out var wire))
        {
            if (field == 1 && wire == ProtoReader.Len) name = r.ReadString();
            else if (field == 2 && wire == ProtoReader.Len)
            {
                var type = new ProtoReader(r.ReadBytes());
                while (type.Next(out var tf, out var tw))
                {
                    if (tf != 1 || tw != ProtoReader.Len) { type.Skip(tw); continue; } // only tensor_type
                    var tensor = new ProtoReader(type.ReadBytes());
                    while (tensor.Next(out var f, out var w))
                    {
                        if (f == 1 && w == ProtoReader.Varint) elem = (int)tensor.ReadVarint();
                        else if (f == 2 && w == ProtoReader.Len)
                        {
                            var shape = new ProtoReader(tensor.ReadBytes());
                            while (shape.Next(out var sf, out var sw))
                            {
                                if (sf != 1 || sw != ProtoReader.Len) { shape.Skip(sw); continue; }
                                var dim = new ProtoReader(shape.ReadBytes());
                                long? value = null;
                                string? param = null;
                                while (dim.Next(out var df, out var dw))
                                {
                                    if (df == 1 && dw == ProtoReader.Varint) value = (long)dim.ReadVarint();
                                    else if (df == 2 && dw == ProtoReader.Len) param = dim.ReadString();
                                    else dim.Skip(dw);
                                }
                                dims.Add(value);
                                pars.Add(param);
                            }
                        }
                        else tensor.Skip(w);
                    }
                }
            }
            else r.Skip(wire);
        }
        return new OnnxValueInfo(name, elem, dims, pars);
    }
}

/// <summary>Protobuf wire-format reader over a memory slice (varint, fixed32/64 and length-delimited fields).</summary>
internal struct ProtoReader(ReadOnlyMemory<byte> data)
{
    public const int Varint = 0, Fixed64 = 1, Len = 2, Fixed32 = 5;

    private readonly ReadOnlyMemory<byte> data = data;
    private int pos = 0;

    /// <summary>Reads the next field key; false at the end of the message.</summary>
    public bool Next(out int field, out int wire)
    {
        if (pos >= data.Length)
        {
            field = wire = 0;
            return false;
        }
        var key = ReadVarint();
        field = (int)(key >> 3);
        wire = (int)(key & 7);
        if (field == 0) throw new InvalidDataException("malformed protobuf: field number 0");
        return true;
    }

    public ulong ReadVarint()
    {
        var span = data.Span;
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (pos >= span.Length) throw new InvalidDataException("malformed protobuf: truncated varint");
            var b = span[pos++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("malformed protobuf: varint too long");
    }

    public ReadOnlyMemory<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(data.Length - pos)) throw new InvalidDataException("malformed protobuf: length past the end");
        var slice = data.Slice(pos, (int)length);
        pos += (int)length;
        return slice;
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes().Span);

    public float ReadFloat()
    {
        if (pos + 4 > data.Length) throw new InvalidDataException("malformed protobuf: truncated fixed32");
        var v = BinaryPrimitives.ReadSingleLittleEndian(data.Span[pos..]);
        pos += 4;
        return v;
    }

    public double ReadDouble()
    {
        if (pos + 8 > data.Length) throw new InvalidDataException("malformed protobuf: truncated fixed64");
        var v = BinaryPrimitives.ReadDoubleLittleEndian(data.Span[pos..]);
        pos += 8;
        return v;
    }

    /// <summary>A repeated varint field, packed (wire type 2) or not.</summary>
    public void ReadVarints(int wire, List<long> into, bool zigzag = false, bool int32 = false)
    {
        long Convert(ulong v) => zigzag ? (long)(v >> 1) ^ -(long)(v & 1) : int32 ? (int)v : (long)v;
        if (wire == Varint) into.Add(Convert(ReadVarint()));
        else if (wire == Len)
        {
            var inner = new ProtoReader(ReadBytes());
            while (inner.pos < inner.data.Length) into.Add(Convert(inner.ReadVarint()));
        }
        else Skip(wire);
    }

    public void ReadFloats(int wire, List<float> into)
    {
        if (wire == Fixed32) into.Add(ReadFloat());
        else if (wire == Len)
        {
            var bytes = ReadBytes().Span;
            for (var k = 0; k + 4 <= bytes.Length; k += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes[k..]));
        }
        else Skip(wire);
    }

    public void ReadDoubles(int wire, List<double> into)
    {
        if (wire == Fixed64) into.Add(ReadDouble());
        else if (wire == Len)
        {
            var bytes = ReadBytes().Span;
            for (var k = 0; k + 8 <= bytes.Length; k += 8) into.Add(BinaryPrimitives.ReadDoubleLittleEndian(bytes[k..]));
        }
        else Skip(wire);
    }

    public void Skip(int wire)
    {
        switch (wire)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: pos += 8; break;
            case Len: ReadBytes(); break;
            case Fixed32: pos += 4; break;
            default: throw new InvalidDataException($"malformed protobuf: unsupported wire type {wire}");
        }
        if (pos > data.Length) throw new InvalidDataException("malformed protobuf: field past the end");
    }
}
