using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

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
