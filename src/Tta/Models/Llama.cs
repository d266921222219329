using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Llama-family decoder (<c>model_type</c> "llama"; Mistral/Qwen-style layouts load through it too): RMSNorm
/// pre-norm blocks, rotary positions (<c>rope_theta</c>, <c>rope_scaling</c>: see <see cref="Rotary"/>), grouped-query
/// attention and a SwiGLU MLP. Parameter names equal the checkpoint keys (<c>model.layers.0.self_attn.q_proj.weight</c>).
/// </summary>
public sealed class Llama : DecoderModel
{
    private readonly LlamaBody model;
    private readonly LinearMap? lm_head;
    private readonly Rotary rotary;
    private readonly int layers;

    /// <summary>
    /// Llama's facts: <c>model.embed_tokens</c>; the query·key term from <c>q_proj</c> and <c>k_proj</c> after the
    /// rotary embedding (the captured <c>model.rotary_emb</c> tables), key heads repeated for grouped-query attention.
    /// </summary>
    public sealed class Architecture : IArchitecture
    {
        public static readonly Architecture Instance = new();

        public string ModelType => "llama";
        public string? HeadStack => Root.Stack;
        public bool IsAfterFinalNorm(CapturePoint point, JsonObject config) =>
            DecoderModel.IsAfterFinalNorm(point, "model.norm", LlamaConfig.From(config).Layers);
        public IReadOnlyList<string> Stacks { get; } = ["decoder-only"];
        public ITransformerModel Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device) =>
            new Llama(checkpoint, dtype, compute, device);
        public ModelFacts Facts(JsonObject config) => Llama.Facts(config);
        public IReadOnlyList<string> InputEmbeddingKeys { get; } = ["model.embed_tokens.weight", "embed_tokens.weight"];

        public IEnumerable<CapturePoint> CapturePoints(JsonObject config) =>
            AllPoints([Root.Of("model.embed_tokens"), .. RotaryPoints], LlamaConfig.From(config).Layers,
                i => LlamaLayer.Points(LayerSite(i)), "model.norm");

        public IReadOnlySet<CaptureKind> QueryKeyKinds { get; } =
            new HashSet<CaptureKind> { CaptureKind.Query, CaptureKind.Key, CaptureKind.RotaryCos, CaptureKind.RotarySin };

        public QueryKeyTerms? QueryKey(ActivationCapture capture, CapturePoint scores, int heads, JsonObject config)
        {
            if (capture.Find(scores.Path, CaptureKind.Query) is not { } queries || capture.Find(scores.Path, CaptureKind.Key) is not { } keys
                || capture.Find(RotaryPoints[0].Path, CaptureKind.RotaryCos) is not { } cos || capture.Find(RotaryPoints[1].Path, CaptureKind.RotarySin) is not { } sin)
                return null;
            var (q, k) = (queries[0], keys[0]);
            var headDim = q.shape[^1] / heads;
            var kvHeads = (int)(k.shape[^1] / headDim);
            Tensor Rotate(Tensor x, long h) => Rotary.Apply(x.view(1, x.shape[0], h, headDim).transpose(1, 2), cos, sin)[0]
                .transpose(0, 1).reshape(x.shape[0], h * headDim);
            return new QueryKeyTerms(Rotate(q, heads), Rotate(k, kvHeads), heads, kvHeads, Math.Pow(headDim, -0.5));
        }
    }

    private static readonly CapturePoint[] RotaryPoints = Rotary.Points(Root.Child("model.rotary_emb"));

    private static CaptureSite LayerSite(int i) => Root.Child("model.layers").Block(i);

    public Llama(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device = null)
        : base(nameof(Llama), Architecture.Instance, checkpoint.Config, dtype, compute, device)
    {
        var c = LlamaConfig.From(checkpoint.Config);
        layers = c.Layers;
        rotary = new Rotary(checkpoint.Config, c.Shape.HeadDim, Architecture.Instance.ModelType);
        model = new LlamaBody(c.Vocab, layers, c.Shape, dtype, Device);
        if (!c.TieWordEmbeddings) lm_head = new LinearMap(c.Shape.Hidden, c.Vocab, false, dtype, Device);
        RegisterComponents();
        LoadWeights(checkpoint, "model.");
    }

    /// <summary>The checkpoint layout and activation sizes of a Llama config (validated, nothing allocated).</summary>
    public static ModelFacts Facts(JsonObject config)
    {
        var c = LlamaConfig.From(config);
        var s = c.Shape;
        long hidden = s.Hidden, q = (long)s.Heads * s.HeadDim, kv = (long)s.KvHeads * s.HeadDim, ff = s.Intermediate;
        var block = new LayoutBuilder("model.layers.{i}.").Norm("input_layernorm", hidden, bias: false)
            .Linear("self_attn.q_proj", q, hidden, s.AttentionBias).Linear("self_attn.k_proj", kv, hidden, s.AttentionBias)
            .Linear("self_attn.v_proj", kv, hidden, s.AttentionBias).Linear("self_attn.o_proj", hidden, q, s.AttentionBias)
            .Norm("post_attention_layernorm", hidden, bias: false)
            .Linear("mlp.gate_proj", ff, hidden, s.MlpBias).Linear("mlp.up_proj", ff, hidden, s.MlpBias)
            .Linear("mlp.down_proj", hidden, ff, s.MlpBias);
        var tail = new LayoutBuilder().Norm("model.norm", hidden, bias: false);
        if (!c.TieWordEmbeddings) tail.Matrix("lm_head.weight", c.Vocab, hidden);
        return new ModelFacts("llama", new CheckpointLayout([new("model.embed_tokens.weight", [c.Vocab, hidden])], [new(c.Layers, block.Tensors)], tail.Tensors),
            new ActivationShape(hidden, ff, s.Heads, s.KvHeads, s.HeadDim, AttentionModulesPerBlock: 1,
                GatedFeedForward: true, SoftmaxInFloat32: true));
    }

    protected override void Forward(Tensor ids, Tensor mask, ActivationCapture capture)
    {
        var x = capture.Rec(Root.Of("model.embed_tokens"), model.embed_tokens.Apply(ids, ComputeDType));
        var (cos, sin) = rotary.Compute(DecoderOps.PositionIds(mask), ComputeDType);
        capture.Record(RotaryPoints[0], cos);
        capture.Record(RotaryPoints[1], sin);
        var additive = DecoderOps.AdditiveMask(DecoderOps.AllowedPairs(mask), ComputeDType);
        for (var i = 0; i < layers; i++)
        {
            capture.Record(Fields.HiddenState(i), x);
            var (layer, input, index) = (model.layers[i], x, i);
            x = RunBlock(input, () => layer.Forward(input, cos, sin, additive, capture, LayerSite(index)));
        }
        RecordTail(capture, "model.norm", layers, FinalNorm(x));
    }

    public override Tensor FinalNorm(Tensor residual) => model.norm.Apply(residual);

    public override Tensor Unembed(Tensor normalized) => lm_head?.Apply(normalized) ?? ComputeWeights.Linear(normalized, model.embed_tokens.Weight);
}

internal sealed record LlamaShape(int Hidden, int Heads, int KvHeads, int HeadDim, int Intermediate, double Eps,
    bool AttentionBias, bool MlpBias, string Activation);

/// <summary>A Llama config.json, read and checked as transformers reads it.</summary>
internal sealed record LlamaConfig(LlamaShape Shape, int Layers, int Vocab, bool TieWordEmbeddings)
{
    public static LlamaConfig From(JsonObject c)
    {
        var hidden = c.Size("hidden_size");
        var heads = c.Size("num_attention_heads");
        var kvHeads = c.Size("num_key_value_heads", heads);
        var headDim = c.Size("head_dim", Math.Max(1, hidden / heads));
        if (heads % kvHeads != 0)
            throw new ConfigValueException($"'num_attention_heads' {heads} is not a multiple of 'num_key_value_heads' {kvHeads}");
        var shape = new LlamaShape(hidden, heads, kvHeads, headDim, c.Size("intermediate_size"),
            c.Double("rms_norm_eps", 1e-6), c.Bool("attention_bias", false), c.Bool("mlp_bias", false),
            DecoderOps.CheckActivation(c.Str("hidden_act", "silu"), "llama"));
        return new LlamaConfig(shape, c.Size("num_hidden_layers"), c.Size("vocab_size"), c.Bool("tie_word_embeddings", false));
    }
}

internal sealed class LlamaBody : nn.Module
{
    public readonly EmbeddingTable embed_tokens;
    public readonly ModuleList<LlamaLayer> layers;
    public readonly RmsNormMap norm;

    public LlamaBody(int vocab, int count, LlamaShape s, ScalarType dtype, Device device) : base(nameof(LlamaBody))
    {
        embed_tokens = new EmbeddingTable(vocab, s.Hidden, dtype, device);
        layers = new ModuleList<LlamaLayer>(Enumerable.Range(0, count).Select(_ => new LlamaLayer(s, dtype, device)).ToArray());
        norm = new RmsNormMap(s.Hidden, s.Eps, dtype, device);
        RegisterComponents();
    }
}

internal sealed class LlamaLayer : nn.Module
{
    private readonly RmsNormMap input_layernorm;
    private readonly LlamaAttention self_attn;
    private readonly RmsNormMap post_attention_layernorm;
    private readonly LlamaMlp mlp;

    public LlamaLayer(LlamaShape s, ScalarType dtype, Device device) : base(nameof(LlamaLayer))
    {
        input_layernorm = new RmsNormMap(s.Hidden, s.Eps, dtype, device);
        self_attn = new LlamaAttention(s, dtype, device);
        post_attention_layernorm = new RmsNormMap(s.Hidden, s.Eps, dtype, device);
        mlp = new LlamaMlp(s, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, ActivationCapture capture, CaptureSite at)
    {
        var h = capture.Rec(at.Of("input_layernorm"), input_layernorm.Apply(x));
        var attention = at.Child("self_attn");
        var (attn, probs) = self_attn.Forward(h, cos, sin, mask, capture, attention);
        capture.Record(attention.Item(0), attn);
        capture.Record(attention.Item(1), probs);
        capture.Record(DecoderModel.Fields.Attentions(at.Layer), probs);
        x = x.Add(attn);
        h = capture.Rec(at.Of("post_attention_layernorm"), post_attention_layernorm.Apply(x));
        x = x.Add(capture.Rec(at.Of("mlp"), mlp.Forward(h, capture, at.Child("mlp"))));
        return capture.Rec(at.Module, x);
    }

    /// <summary>What <see cref="Forward"/> records, in order.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at)
    {
        var (attention, mlp) = (at.Child("self_attn"), at.Child("mlp"));
        return
        [
            at.Of("input_layernorm"), attention.Part("q_proj", CaptureKind.Query), attention.Part("k_proj", CaptureKind.Key),
            attention.Part("v_proj", CaptureKind.Value), .. DecoderOps.AttendPoints(attention), attention.Of("o_proj"),
            attention.Item(0), attention.Item(1), DecoderModel.Fields.Attentions(at.Layer), at.Of("post_attention_layernorm"),
            mlp.Of("gate_proj"), mlp.Of("act_fn"), mlp.Of("up_proj"), mlp.Of("down_proj"), mlp.Module, at.Module,
        ];
    }
}

internal sealed class LlamaAttention : nn.Module
{
    private readonly LinearMap q_proj, k_proj, v_proj, o_proj;
    private readonly LlamaShape s;

    public LlamaAttention(LlamaShape s, ScalarType dtype, Device device) : base(nameof(LlamaAttention))
    {
        this.s = s;
        q_proj = new LinearMap(s.Hidden, s.Heads * s.HeadDim, s.AttentionBias, dtype, device);
        k_proj = new LinearMap(s.Hidden, s.KvHeads * s.HeadDim, s.AttentionBias, dtype, device);
        v_proj = new LinearMap(s.Hidden, s.KvHeads * s.HeadDim, s.AttentionBias, dtype, device);
        o_proj = new LinearMap(s.Heads * s.HeadDim, s.Hidden, s.AttentionBias, dtype, device);
        RegisterComponents();
    }

    public (Tensor Output, Tensor Probs) Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, ActivationCapture capture, CaptureSite at)
    {
        var q = DecoderOps.SplitHeads(capture.Rec(at.Part("q_proj", CaptureKind.Query), q_proj.Apply(x)), s.Heads, s.HeadDim);
        var k = DecoderOps.SplitHeads(capture.Rec(at.Part("k_proj", CaptureKind.Key), k_proj.Apply(x)), s.KvHeads, s.HeadDim);
        var v = DecoderOps.SplitHeads(capture.Rec(at.Part("v_proj", CaptureKind.Value), v_proj.Apply(x)), s.KvHeads, s.HeadDim);
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        var (o, probs) = DecoderOps.Attend(q, k, v, mask, Math.Pow(s.HeadDim, -0.5), softmaxInFloat32: true, capture, at);
        return (capture.Rec(at.Of("o_proj"), o_proj.Apply(DecoderOps.MergeHeads(o))), probs);
    }
}

internal sealed class LlamaMlp : nn.Module
{
    private readonly LinearMap gate_proj, up_proj, down_proj;
    private readonly string activation;

    public LlamaMlp(LlamaShape s, ScalarType dtype, Device device) : base(nameof(LlamaMlp))
    {
        activation = s.Activation;
        gate_proj = new LinearMap(s.Hidden, s.Intermediate, s.MlpBias, dtype, device);
        up_proj = new LinearMap(s.Hidden, s.Intermediate, s.MlpBias, dtype, device);
        down_proj = new LinearMap(s.Intermediate, s.Hidden, s.MlpBias, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture, CaptureSite at)
    {
        var gate = capture.Rec(at.Of("gate_proj"), gate_proj.Apply(x));
        var act = capture.Rec(at.Of("act_fn"), DecoderOps.Activation(activation, gate));
        var up = capture.Rec(at.Of("up_proj"), up_proj.Apply(x));
        return capture.Rec(at.Of("down_proj"), down_proj.Apply(act * up));
    }
}
