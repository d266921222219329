using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

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
