using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

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
