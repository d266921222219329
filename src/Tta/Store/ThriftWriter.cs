using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Store;

/// <summary>Thrift compact protocol, writing only (the types Parquet metadata uses).</summary>
internal sealed class ThriftWriter
{
    public const byte I32Type = 5;
    public const byte I64Type = 6;
    public const byte Binary = 8;
    public const byte Struct = 12;

    private readonly MemoryStream o = new();
    private readonly Stack<short> lastIds = new();
    private short lastId;

    public long Length => o.Length;

    public byte[] ToArray() => o.ToArray();

    private void Header(short id, byte type)
    {
        var delta = id - lastId;
        if (delta is > 0 and <= 15) o.WriteByte((byte)((delta << 4) | type));
        else
        {
            o.WriteByte(type);
            VarInt(ZigZag(id));
        }
        lastId = id;
    }

    private void VarInt(ulong v)
    {
        while (v >= 0x80) { o.WriteByte((byte)(v | 0x80)); v >>= 7; }
        o.WriteByte((byte)v);
    }

    private static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

    public void I32(short id, int v) { Header(id, I32Type); VarInt(ZigZag(v)); }

    public void I64(short id, long v) { Header(id, I64Type); VarInt(ZigZag(v)); }

    public void Str(short id, string v) { Header(id, Binary); Bytes(v); }

    private void Bytes(string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        VarInt((ulong)b.Length);
        o.Write(b);
    }

    public void BeginStruct(short id)
    {
        Header(id, Struct);
        lastIds.Push(lastId);
        lastId = 0;
    }

    public void EndStruct()
    {
        o.WriteByte(0);
        lastId = lastIds.Pop();
    }

    public void Stop() => o.WriteByte(0);

    public void BeginList(short id, byte elementType, int count)
    {
        Header(id, 9);
        if (count < 15) o.WriteByte((byte)((count << 4) | elementType));
        else
        {
            o.WriteByte((byte)(0xF0 | elementType));
            VarInt((ulong)count);
        }
    }

    /// <summary>One struct element of a list: its fields, then its stop byte.</summary>
    public void ListStruct(Action<ThriftWriter> fields)
    {
        lastIds.Push(lastId);
        lastId = 0;
        fields(this);
        o.WriteByte(0);
        lastId = lastIds.Pop();
    }

    public void ListI32(int v) => VarInt(ZigZag(v));

    public void ListStr(string v) => Bytes(v);
}
