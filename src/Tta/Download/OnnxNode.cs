using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

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
