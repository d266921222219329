using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Download;

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
