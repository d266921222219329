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

    public override string ModelType => "llama";

    public Llama(Checkpoint checkpoint, ScalarType dtype, Device? device = null)
        : base(nameof(Llama), checkpoint.Config, dtype, device)
    {
        var c = LlamaConfig.From(checkpoint.Config);
        layers = c.Layers;
        rotary = new Rotary(checkpoint.Config, c.Shape.HeadDim, ModelType);
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
        var x = capture.Rec("model.embed_tokens", model.embed_tokens.Apply(ids));
        var (cos, sin) = rotary.Compute(DecoderOps.PositionIds(mask), DType);
        capture.Record("model.rotary_emb#0", cos);
        capture.Record("model.rotary_emb#1", sin);
        var additive = DecoderOps.AdditiveMask(DecoderOps.AllowedPairs(mask), DType);
        for (var i = 0; i < layers; i++)
        {
            capture.Record($"hidden_states.{i}", x);
            var (layer, input, index) = (model.layers[i], x, i);
            x = RunBlock(input, () => layer.Forward(input, cos, sin, additive, capture, $"model.layers.{index}", index));
        }
        x = capture.Rec("model.norm", model.norm.Apply(x));
        capture.Record($"hidden_states.{layers}", x);
        capture.Record("last_hidden_state", x);
        if (capture.Wants("lm_head") || capture.Wants("logits"))
        {
            var logits = lm_head?.Apply(x) ?? nn.functional.linear(x, model.embed_tokens.Weight);
            capture.Record("lm_head", logits);
            capture.Record("logits", logits);
        }
    }
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

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, ActivationCapture capture, string path, int index)
    {
        var h = capture.Rec(path + ".input_layernorm", input_layernorm.Apply(x));
        var (attn, probs) = self_attn.Forward(h, cos, sin, mask, capture, path + ".self_attn");
        capture.Record(path + ".self_attn#0", attn);
        capture.Record(path + ".self_attn#1", probs);
        capture.Record($"attentions.{index}", probs);
        x = x.Add(attn);
        h = capture.Rec(path + ".post_attention_layernorm", post_attention_layernorm.Apply(x));
        x = x.Add(capture.Rec(path + ".mlp", mlp.Forward(h, capture, path + ".mlp")));
        return capture.Rec(path, x);
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

    public (Tensor Output, Tensor Probs) Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, ActivationCapture capture, string path)
    {
        var q = DecoderOps.SplitHeads(capture.Rec(path + ".q_proj", q_proj.Apply(x)), s.Heads, s.HeadDim);
        var k = DecoderOps.SplitHeads(capture.Rec(path + ".k_proj", k_proj.Apply(x)), s.KvHeads, s.HeadDim);
        var v = DecoderOps.SplitHeads(capture.Rec(path + ".v_proj", v_proj.Apply(x)), s.KvHeads, s.HeadDim);
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        var (o, probs) = DecoderOps.Attend(q, k, v, mask, Math.Pow(s.HeadDim, -0.5), softmaxInFloat32: true, capture, path);
        return (capture.Rec(path + ".o_proj", o_proj.Apply(DecoderOps.MergeHeads(o))), probs);
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

    public Tensor Forward(Tensor x, ActivationCapture capture, string path)
    {
        var gate = capture.Rec(path + ".gate_proj", gate_proj.Apply(x));
        var act = capture.Rec(path + ".act_fn", DecoderOps.Activation(activation, gate));
        var up = capture.Rec(path + ".up_proj", up_proj.Apply(x));
        return capture.Rec(path + ".down_proj", down_proj.Apply(act * up));
    }
}
