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
