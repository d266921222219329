using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// GPT-2 (<c>model_type</c> "gpt2"): pre-LN blocks, learned absolute positions (<c>wpe</c>), Conv1D projections whose
/// weights are stored [in, out], <c>gelu_new</c> MLP, logits tied to <c>wte</c> unless the config unties them.
/// Loads both <c>transformer.</c>-prefixed checkpoints and the original base-model ones (<c>h.0.attn.c_attn.weight</c>).
/// </summary>
public sealed class Gpt2 : DecoderModel
{
    private readonly Gpt2Body transformer;
    private readonly LinearMap? lm_head;
    private readonly int layers;
    private readonly int maxPositions;

    /// <summary>GPT-2's facts: <c>transformer.wte</c>, a fused <c>c_attn</c> projection split into q and k, its attention scaling flags.</summary>
    public sealed class Architecture : IArchitecture
    {
        public static readonly Architecture Instance = new();

        public string ModelType => "gpt2";
        public string? HeadStack => Root.Stack;
        public bool IsAfterFinalNorm(CapturePoint point, JsonObject config) =>
            DecoderModel.IsAfterFinalNorm(point, "transformer.ln_f", Gpt2Config.From(config).Layers);
        public IReadOnlyList<string> Stacks { get; } = ["decoder-only"];
        public ITransformerModel Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device) =>
            new Gpt2(checkpoint, dtype, compute, device);
        public ModelFacts Facts(JsonObject config) => Gpt2.Facts(config);
        public IReadOnlyList<string> InputEmbeddingKeys { get; } = ["transformer.wte.weight", "wte.weight"];

        public IEnumerable<CapturePoint> CapturePoints(JsonObject config) =>
            AllPoints([Root.Of("transformer.wte"), Root.Of("transformer.wpe")], Gpt2Config.From(config).Layers,
                i => Gpt2Block.Points(BlockSite(i)), "transformer.ln_f");

        public IReadOnlySet<CaptureKind> QueryKeyKinds { get; } = new HashSet<CaptureKind> { CaptureKind.QueryKeyValue };

        public QueryKeyTerms? QueryKey(ActivationCapture capture, CapturePoint scores, int heads, JsonObject config)
        {
            if (capture.Find(scores.Path, CaptureKind.QueryKeyValue) is not { } fused) return null;
            var qkv = fused[0];
            var hidden = qkv.shape[^1] / 3;
            return new QueryKeyTerms(qkv.narrow(-1, 0, hidden), qkv.narrow(-1, hidden, hidden), heads, heads,
                Gpt2Config.From(config).Shape.Scale(scores.Layer));
        }
    }

    private static CaptureSite BlockSite(int i) => Root.Child("transformer.h").Block(i);

    public Gpt2(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device = null)
        : base(nameof(Gpt2), Architecture.Instance, checkpoint.Config, dtype, compute, device)
    {
        var c = Gpt2Config.From(checkpoint.Config);
        layers = c.Layers;
        maxPositions = c.Positions;
        transformer = new Gpt2Body(c.Vocab, maxPositions, layers, c.Shape, dtype, Device);
        if (!c.TieWordEmbeddings) lm_head = new LinearMap(c.Shape.Hidden, c.Vocab, false, dtype, Device);
        RegisterComponents();
        LoadWeights(checkpoint, "transformer.");
    }

    /// <summary>The checkpoint layout and activation sizes of a GPT-2 config (validated, nothing allocated).</summary>
    public static ModelFacts Facts(JsonObject config)
    {
        var c = Gpt2Config.From(config);
        var s = c.Shape;
        long hidden = s.Hidden, inner = s.Inner;
        var block = new LayoutBuilder("transformer.h.{i}.")
            .Norm("ln_1", hidden).Conv1D("attn.c_attn", hidden, 3 * hidden).Conv1D("attn.c_proj", hidden, hidden)
            .Norm("ln_2", hidden).Conv1D("mlp.c_fc", hidden, inner).Conv1D("mlp.c_proj", inner, hidden);
        var once = new LayoutBuilder("transformer.").Matrix("wte.weight", c.Vocab, hidden).Matrix("wpe.weight", c.Positions, hidden);
        var tail = new LayoutBuilder().Norm("transformer.ln_f", hidden);
        if (!c.TieWordEmbeddings) tail.Matrix("lm_head.weight", c.Vocab, hidden);
        return new ModelFacts("gpt2", new CheckpointLayout(once.Tensors, [new(c.Layers, block.Tensors)], tail.Tensors),
            new ActivationShape(hidden, inner, s.Heads, s.Heads, hidden / s.Heads, AttentionModulesPerBlock: 1,
                GatedFeedForward: false, SoftmaxInFloat32: s.UpcastSoftmax));
    }

    protected override void Forward(Tensor ids, Tensor mask, ActivationCapture capture)
    {
        if (ids.shape[1] > maxPositions)
            throw new ArgumentException($"gpt2: sequence length {ids.shape[1]} exceeds n_positions {maxPositions}");
        var tokens = capture.Rec(Root.Of("transformer.wte"), transformer.wte.Apply(ids, ComputeDType));
        var positions = capture.Rec(Root.Of("transformer.wpe"), transformer.wpe.Apply(DecoderOps.PositionIds(mask), ComputeDType));
        var x = tokens.Add(positions);
        var additive = DecoderOps.AdditiveMask(DecoderOps.AllowedPairs(mask), ComputeDType);
        for (var i = 0; i < layers; i++)
        {
            capture.Record(Fields.HiddenState(i), x);
            var (block, input, index) = (transformer.h[i], x, i);
            x = RunBlock(input, () => block.Forward(input, additive, capture, BlockSite(index)));
        }
        RecordTail(capture, "transformer.ln_f", layers, FinalNorm(x));
    }

    public override Tensor FinalNorm(Tensor residual) => transformer.ln_f.Apply(residual);

    public override Tensor Unembed(Tensor normalized) => lm_head?.Apply(normalized) ?? ComputeWeights.Linear(normalized, transformer.wte.Weight);
}

internal sealed record Gpt2Shape(int Hidden, int Heads, int Inner, double Eps, string Activation, bool ScaleByDim,
    bool ScaleByInverseLayer, bool UpcastSoftmax)
{
    /// <summary>The factor on q·kᵀ in block <paramref name="layer"/> (the forward pass and the Q·K decomposition use it).</summary>
    public double Scale(int layer) => (ScaleByDim ? 1.0 / Math.Sqrt(Hidden / Heads) : 1.0) / (ScaleByInverseLayer ? layer + 1 : 1);
}

/// <summary>A GPT-2 config.json, read and checked as transformers reads it.</summary>
internal sealed record Gpt2Config(Gpt2Shape Shape, int Layers, int Positions, int Vocab, bool TieWordEmbeddings)
{
    public static Gpt2Config From(JsonObject c)
    {
        var hidden = c.SizeAny("n_embd", "hidden_size");
        var heads = c.SizeAny("n_head", "num_attention_heads");
        if (hidden % heads != 0) throw new ConfigValueException($"'n_embd' {hidden} is not a multiple of 'n_head' {heads}");
        var shape = new Gpt2Shape(hidden, heads, c.SizeOrNull("n_inner") ?? (int)Math.Min(int.MaxValue, 4L * hidden),
            c.Double("layer_norm_epsilon", 1e-5), DecoderOps.CheckActivation(c.Str("activation_function", "gelu_new"), "gpt2"),
            c.Bool("scale_attn_weights", true), c.Bool("scale_attn_by_inverse_layer_idx", false), c.Bool("reorder_and_upcast_attn", false));
        return new Gpt2Config(shape, c.SizeAny("n_layer", "num_hidden_layers"), c.SizeAny("n_positions", "max_position_embeddings"),
            c.Size("vocab_size"), c.Bool("tie_word_embeddings", true));
    }
}

internal sealed class Gpt2Body : nn.Module
{
    public readonly EmbeddingTable wte;
    public readonly EmbeddingTable wpe;
    public readonly ModuleList<Gpt2Block> h;
    public readonly LayerNormMap ln_f;

    public Gpt2Body(int vocab, int positions, int count, Gpt2Shape s, ScalarType dtype, Device device) : base(nameof(Gpt2Body))
    {
        wte = new EmbeddingTable(vocab, s.Hidden, dtype, device);
        wpe = new EmbeddingTable(positions, s.Hidden, dtype, device);
        h = new ModuleList<Gpt2Block>(Enumerable.Range(0, count).Select(_ => new Gpt2Block(s, dtype, device)).ToArray());
        ln_f = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        RegisterComponents();
    }
}

internal sealed class Gpt2Block : nn.Module
{
    private readonly LayerNormMap ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNormMap ln_2;
    private readonly Gpt2Mlp mlp;

    public Gpt2Block(Gpt2Shape s, ScalarType dtype, Device device) : base(nameof(Gpt2Block))
    {
        ln_1 = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        attn = new Gpt2Attention(s, dtype, device);
        ln_2 = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        mlp = new Gpt2Mlp(s, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor mask, ActivationCapture capture, CaptureSite at)
    {
        var h = capture.Rec(at.Of("ln_1"), ln_1.Apply(x));
        var attention = at.Child("attn");
        var (a, probs) = attn.Forward(h, mask, capture, attention);
        capture.Record(attention.Item(0), a);
        capture.Record(attention.Item(1), probs);
        capture.Record(DecoderModel.Fields.Attentions(at.Layer), probs);
        x = x.Add(a);
        h = capture.Rec(at.Of("ln_2"), ln_2.Apply(x));
        x = x.Add(capture.Rec(at.Of("mlp"), mlp.Forward(h, capture, at.Child("mlp"))));
        return capture.Rec(at.Module, x);
    }

    /// <summary>What <see cref="Forward"/> records, in order.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at)
    {
        var (attention, mlp) = (at.Child("attn"), at.Child("mlp"));
        return
        [
            at.Of("ln_1"), .. Gpt2Attention.Points(attention), attention.Item(0), attention.Item(1), DecoderModel.Fields.Attentions(at.Layer),
            at.Of("ln_2"), mlp.Of("c_fc"), mlp.Of("act"), mlp.Of("c_proj"), mlp.Module, at.Module,
        ];
    }
}

internal sealed class Gpt2Attention : nn.Module
{
    private readonly Conv1DMap c_attn;
    private readonly Conv1DMap c_proj;
    private readonly Gpt2Shape s;

    public Gpt2Attention(Gpt2Shape s, ScalarType dtype, Device device) : base(nameof(Gpt2Attention))
    {
        this.s = s;
        c_attn = new Conv1DMap(s.Hidden, 3 * s.Hidden, dtype, device);
        c_proj = new Conv1DMap(s.Hidden, s.Hidden, dtype, device);
        RegisterComponents();
    }

    public (Tensor Output, Tensor Probs) Forward(Tensor x, Tensor mask, ActivationCapture capture, CaptureSite at)
    {
        var qkv = capture.Rec(at.Part("c_attn", CaptureKind.QueryKeyValue), c_attn.Apply(x));
        var headDim = s.Hidden / s.Heads;
        var q = DecoderOps.SplitHeads(qkv.narrow(-1, 0, s.Hidden), s.Heads, headDim);
        var k = DecoderOps.SplitHeads(qkv.narrow(-1, s.Hidden, s.Hidden), s.Heads, headDim);
        var v = DecoderOps.SplitHeads(qkv.narrow(-1, 2 * s.Hidden, s.Hidden), s.Heads, headDim);
        var (o, probs) = DecoderOps.Attend(q, k, v, mask, s.Scale(at.Layer), softmaxInFloat32: s.UpcastSoftmax, capture, at);
        var output = capture.Rec(at.Of("c_proj"), c_proj.Apply(DecoderOps.MergeHeads(o)));
        capture.Record(at.Of("resid_dropout"), output);
        return (output, probs);
    }

    /// <summary>What <see cref="Forward"/> records, in order.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at) =>
        [at.Part("c_attn", CaptureKind.QueryKeyValue), .. DecoderOps.AttendPoints(at), at.Of("c_proj"), at.Of("resid_dropout")];
}

internal sealed class Gpt2Mlp : nn.Module
{
    private readonly Conv1DMap c_fc;
    private readonly Conv1DMap c_proj;
    private readonly string activation;

    public Gpt2Mlp(Gpt2Shape s, ScalarType dtype, Device device) : base(nameof(Gpt2Mlp))
    {
        activation = s.Activation;
        c_fc = new Conv1DMap(s.Hidden, s.Inner, dtype, device);
        c_proj = new Conv1DMap(s.Inner, s.Hidden, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture, CaptureSite at)
    {
        var h = capture.Rec(at.Of("c_fc"), c_fc.Apply(x));
        h = capture.Rec(at.Of("act"), DecoderOps.Activation(activation, h));
        return capture.Rec(at.Of("c_proj"), c_proj.Apply(h));
    }
}
