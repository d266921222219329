using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Base of the decoder-only architectures (Falcon, GPT-2, Llama): holds the config, the load and compute dtypes and
/// the device, loads the checkpoint into the module tree and prepares the per-batch masks and positions.
/// </summary>
public abstract class DecoderModel : nn.Module, ILanguageModelHead
{
    private readonly IArchitecture architecture;

    protected DecoderModel(string name, IArchitecture architecture, JsonObject config, ScalarType dtype, ScalarType compute, Device? device)
        : base(name)
    {
        ComputeDTypes.Check(name, dtype, compute);
        this.architecture = architecture;
        Config = config;
        DType = dtype;
        ComputeDType = compute;
        Device = device ?? CPU;
    }

    IArchitecture ITransformerModel.Architecture => architecture;
    public JsonObject Config { get; }

    /// <summary>The dtype the weights are stored in (the load dtype).</summary>
    public ScalarType DType { get; }

    /// <summary>The dtype activations, masks and rotary tables are computed in; weights are converted per op when it differs.</summary>
    public ScalarType ComputeDType { get; }

    public Device Device { get; }

    public void Run(ModelInputs inputs, ActivationCapture capture)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var ids = inputs.InputIds.to(ScalarType.Int64, Device);
        var mask = inputs.AttentionMask.to(ScalarType.Int64, Device);
        if (ids.dim() != 2 || !ids.shape.SequenceEqual(mask.shape))
            throw new ArgumentException($"{architecture.ModelType}: input_ids [{string.Join(", ", ids.shape)}] and attention_mask " +
                                        $"[{string.Join(", ", mask.shape)}] must both be [batch, seq]");
        Forward(ids, mask, capture);
    }

    /// <summary>Where decoder-only models record: one stack, <c>decoder-only</c>.</summary>
    protected internal static readonly CaptureSite Root = CaptureSite.Root("decoder-only");

    /// <summary>Output fields of a decoder-only model (<c>hidden_states.N</c>, <c>attentions.N</c>, …).</summary>
    protected internal static readonly OutputFields Fields = new("decoder-only");

    /// <summary>
    /// What every decoder-only model records after its blocks: the final norm <paramref name="finalNorm"/>, the last
    /// hidden state, <c>last_hidden_state</c>, <c>lm_head</c> and <c>logits</c>.
    /// </summary>
    protected internal static IEnumerable<CapturePoint> TailPoints(string finalNorm, int layers) =>
        [Root.Of(finalNorm), Fields.HiddenState(layers), Fields.Output("last_hidden_state"), Root.Of("lm_head"), Fields.Logits];

    /// <summary>
    /// Every point a decoder-only model records, lazily: <paramref name="leading"/> (embeddings, rotary tables), then
    /// per block its input hidden state and <paramref name="block"/>'s points, then <see cref="TailPoints"/>.
    /// </summary>
    protected internal static IEnumerable<CapturePoint> AllPoints(IEnumerable<CapturePoint> leading, int layers,
        Func<int, IEnumerable<CapturePoint>> block, string finalNorm)
    {
        foreach (var p in leading) yield return p;
        for (var i = 0; i < layers; i++)
        {
            yield return Fields.HiddenState(i);
            foreach (var p in block(i)) yield return p;
        }
        foreach (var p in TailPoints(finalNorm, layers)) yield return p;
    }

    /// <summary>
    /// Whether <paramref name="point"/> holds a state after the final norm <paramref name="finalNorm"/>: the last
    /// hidden state (<c>hidden_states.N</c>, N = <paramref name="layers"/>), <c>last_hidden_state</c> and the norm's output
    /// (what <see cref="RecordTail"/> records), see <see cref="IArchitecture.IsAfterFinalNorm"/>.
    /// </summary>
    protected internal static bool IsAfterFinalNorm(CapturePoint point, string finalNorm, int layers) =>
        point.Stack == Root.Stack && (point.Name == Fields.HiddenState(layers).Name
            || point.Name == Fields.Output("last_hidden_state").Name || point.Name == Root.Of(finalNorm).Name);

    public abstract Tensor FinalNorm(Tensor residual);

    public abstract Tensor Unembed(Tensor normalized);

    /// <summary>Records the final norm's output <paramref name="x"/> and the outputs <see cref="TailPoints"/> names; logits (<see cref="Unembed"/>) only when wanted.</summary>
    protected void RecordTail(ActivationCapture capture, string finalNorm, int layers, Tensor x)
    {
        capture.Record(Root.Of(finalNorm), x);
        capture.Record(Fields.HiddenState(layers), x);
        capture.Record(Fields.Output("last_hidden_state"), x);
        var (head, logitsField) = (Root.Of("lm_head"), Fields.Logits);
        if (!capture.Wants(head) && !capture.Wants(logitsField)) return;
        var logits = Unembed(x);
        capture.Record(head, logits);
        capture.Record(logitsField, logits);
    }

    /// <summary>One forward pass on device tensors; intermediates are disposed by the caller's scope.</summary>
    protected abstract void Forward(Tensor ids, Tensor mask, ActivationCapture capture);

    /// <summary>Copies the checkpoint into this module; parameters under <paramref name="basePrefix"/> also accept
    /// keys saved without it (base-model checkpoints such as the original <c>gpt2</c>).</summary>
    protected void LoadWeights(Checkpoint checkpoint, string basePrefix)
    {
        checkpoint.LoadInto(this, name =>
        {
            if (checkpoint.Contains(name)) return name;
            if (name.StartsWith(basePrefix, StringComparison.Ordinal) && checkpoint.Contains(name[basePrefix.Length..]))
                return name[basePrefix.Length..];
            return name;
        });
    }

    /// <summary>
    /// Runs a block in its own dispose scope: only its output (the next hidden state) leaves it, and the input hidden
    /// state is released (whatever the capture wanted of it was copied before), so memory holds one block's
    /// intermediates and one hidden state, whatever the depth.
    /// </summary>
    protected static Tensor RunBlock(Tensor input, Func<Tensor> block)
    {
        Tensor output;
        using (var scope = NewDisposeScope()) output = block().MoveToOuterDisposeScope();
        input.Dispose();
        return output;
    }

    /// <summary>Creates an uninitialised parameter (weights come from the checkpoint).</summary>
    internal static Parameter Weight(long[] shape, ScalarType dtype, Device device)
    {
        using var _ = no_grad();
        return new Parameter(empty(shape, dtype, device).DetachFromDisposeScope(), requires_grad: false);
    }
}
