using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

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
