using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>Hyper-parameters of a T5 checkpoint, read from config.json the way transformers reads them.</summary>
public sealed record T5Config(
    int VocabSize, int DModel, int DKv, int DFf, int NumHeads, int NumLayers, int NumDecoderLayers,
    int RelativeAttentionNumBuckets, int RelativeAttentionMaxDistance, double LayerNormEpsilon,
    bool IsGatedAct, string DenseActFn, bool TieWordEmbeddings, bool ScaleDecoderOutputs)
{
    public int Inner => NumHeads * DKv;

    public static T5Config From(JsonObject c)
    {
        // transformers derives the activation from feed_forward_proj ("relu", "gated-gelu", "gated-silu", ...);
        // "gated-gelu" means the tanh approximation (gelu_new) for backwards compatibility.
        var proj = c.Str("feed_forward_proj", "relu");
        var parts = proj.Split('-');
        var gated = parts[0] == "gated";
        if ((gated && parts.Length != 2) || (!gated && parts.Length != 1))
            throw new ConfigValueException($"'feed_forward_proj' is '{proj}'; expected the form [gated-]ACT");
        var act = parts[^1];
        if (proj == "gated-gelu") act = "gelu_new";
        DecoderOps.CheckActivation(act, "t5");
        var tie = c.Bool("tie_word_embeddings", true);
        var layers = c.Size("num_layers");
        return new T5Config(
            VocabSize: c.Size("vocab_size"),
            DModel: c.Size("d_model"),
            DKv: c.Size("d_kv"),
            DFf: c.Size("d_ff"),
            NumHeads: c.Size("num_heads"),
            NumLayers: layers,
            NumDecoderLayers: c.Size("num_decoder_layers", layers),
            RelativeAttentionNumBuckets: c.Size("relative_attention_num_buckets", 32),
            RelativeAttentionMaxDistance: c.Size("relative_attention_max_distance", 128),
            LayerNormEpsilon: c.Double("layer_norm_epsilon", 1e-6),
            IsGatedAct: gated,
            DenseActFn: act,
            TieWordEmbeddings: tie,
            // transformers >= 5 saves scale_decoder_outputs; older configs scale exactly when embeddings are tied.
            ScaleDecoderOutputs: c.Bool("scale_decoder_outputs", tie));
    }
}

/// <summary>
/// T5 encoder–decoder with its language-model head (transformers' <c>T5ForConditionalGeneration</c>): T5 v1.0 (ReLU
/// feed-forward, logits from the shared embedding with the decoder output scaled by d_model^-0.5) and T5 v1.1 /
/// Flan-T5 (gated-GELU feed-forward, own <c>lm_head</c>). Parameter names equal the checkpoint keys; the tied copies
/// a checkpoint omits (<c>encoder.embed_tokens</c>, <c>decoder.embed_tokens</c>, a tied <c>lm_head</c>) are the one
/// <c>shared</c> table here.
/// </summary>
public sealed class T5Model : nn.Module, ITransformerModel
{
#pragma warning disable IDE1006 // field names are the checkpoint's module names
    private readonly T5Embedding shared;
    private readonly T5Stack encoder;
    private readonly T5Stack decoder;
    private readonly T5Linear? lm_head;
#pragma warning restore IDE1006

    private readonly Device device;
    private readonly ScalarType dtype;

    public string ModelType => "t5";
    public JsonObject Config { get; }
    public T5Config Hyper { get; }
    public IReadOnlyList<string> Stacks { get; } = ["encoder", "decoder"];

    private T5Model(JsonObject config, bool ownLmHead, ScalarType dtype, Device device) : base("T5ForConditionalGeneration")
    {
        Config = config;
        Hyper = T5Config.From(config);
        this.dtype = dtype;
        this.device = device;
        var h = Hyper;
        shared = new T5Embedding(h.VocabSize, h.DModel, dtype, device);
        encoder = new T5Stack("encoder", h, isDecoder: false, dtype, device);
        decoder = new T5Stack("decoder", h, isDecoder: true, dtype, device);
        if (ownLmHead) lm_head = new T5Linear(h.DModel, h.VocabSize, dtype, device);
        RegisterComponents();
    }

    /// <summary>
    /// Builds the model in <paramref name="dtype"/> on <paramref name="device"/> and loads the checkpoint's weights.
    /// The head is <c>lm_head.weight</c> when the checkpoint has one, else the shared embedding (tied).
    /// As transformers does for T5, float16 keeps the feed-forward output projections (<c>wo</c>) in float32.
    /// </summary>
    public static T5Model Load(Checkpoint checkpoint, ScalarType dtype, Device? device = null)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new NotSupportedException($"T5: dtype {dtype} is not supported (float32, bfloat16, float16)");
        var model = new T5Model(checkpoint.Config, checkpoint.Contains("lm_head.weight"), dtype, device ?? CPU);
        checkpoint.LoadInto(model, KeyFor);
        return model;
    }

    /// <summary>The checkpoint layout and activation sizes of a T5 config (validated, nothing allocated).</summary>
    public static ModelFacts Facts(JsonObject config)
    {
        var h = T5Config.From(config);
        long d = h.DModel, inner = h.Inner, ff = h.DFf;
        TensorSpec W(string name, long rows, long cols) => new(name, [rows, cols]);
        TensorSpec Norm(string name) => new(name, [d], TensorFill.Ones);
        List<TensorSpec> Attention(string p) =>
            [W(p + ".q.weight", inner, d), W(p + ".k.weight", inner, d), W(p + ".v.weight", inner, d), W(p + ".o.weight", d, inner)];
        List<TensorSpec> Dense(string p) => h.IsGatedAct
            ? [W(p + ".wi_0.weight", ff, d), W(p + ".wi_1.weight", ff, d), W(p + ".wo.weight", d, ff)]
            : [W(p + ".wi.weight", ff, d), W(p + ".wo.weight", d, ff)];
        var encoder = new List<TensorSpec>();
        encoder.AddRange(Attention("encoder.block.{i}.layer.0.SelfAttention"));
        encoder.Add(Norm("encoder.block.{i}.layer.0.layer_norm.weight"));
        encoder.AddRange(Dense("encoder.block.{i}.layer.1.DenseReluDense"));
        encoder.Add(Norm("encoder.block.{i}.layer.1.layer_norm.weight"));
        var decoder = new List<TensorSpec>();
        decoder.AddRange(Attention("decoder.block.{i}.layer.0.SelfAttention"));
        decoder.Add(Norm("decoder.block.{i}.layer.0.layer_norm.weight"));
        decoder.AddRange(Attention("decoder.block.{i}.layer.1.EncDecAttention"));
        decoder.Add(Norm("decoder.block.{i}.layer.1.layer_norm.weight"));
        decoder.AddRange(Dense("decoder.block.{i}.layer.2.DenseReluDense"));
        decoder.Add(Norm("decoder.block.{i}.layer.2.layer_norm.weight"));
        List<TensorSpec> once =
        [
            W("shared.weight", h.VocabSize, d),
            W("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", h.RelativeAttentionNumBuckets, h.NumHeads),
            Norm("encoder.final_layer_norm.weight"),
            W("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", h.RelativeAttentionNumBuckets, h.NumHeads),
            Norm("decoder.final_layer_norm.weight"),
        ];
        if (!h.TieWordEmbeddings) once.Add(W("lm_head.weight", h.VocabSize, d));
        var layout = new CheckpointLayout(once, [new(h.NumLayers, encoder), new(h.NumDecoderLayers, decoder)]);
        return new ModelFacts("t5", layout, new ActivationShape(d, ff, h.NumHeads, h.NumHeads, h.DKv,
            AttentionModulesPerBlock: 2, GatedFeedForward: h.IsGatedAct, SoftmaxInFloat32: true));
    }

    /// <summary>Checkpoint key of a parameter (all parameters are stored under their own names).</summary>
    public static string KeyFor(string parameter) => parameter switch
    {
        "encoder.embed_tokens.weight" or "decoder.embed_tokens.weight" => "shared.weight",
        _ => parameter,
    };

    public void Run(ModelInputs inputs, ActivationCapture capture)
    {
        var decoderIds = inputs.DecoderInputIds
            ?? throw new ArgumentException("T5 needs decoder_input_ids (ModelInputs.DecoderInputIds)");
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var ids = inputs.InputIds.to(device);
            var mask = inputs.AttentionMask.to(device).Ne(0);
            var decIds = decoderIds.to(device);
            var decMask = (inputs.DecoderAttentionMask?.to(device) ?? ones_like(decIds)).Ne(0);
            if (!mask.shape.SequenceEqual(ids.shape) || !decMask.shape.SequenceEqual(decIds.shape))
                throw new ArgumentException("T5: attention masks must have the shape of their input ids");
            if (decIds.shape[0] != ids.shape[0])
                throw new ArgumentException("T5: encoder and decoder batches differ in size");

            var min = finfo(dtype).min;
            // Additive masks (0 where attended, the dtype's minimum where not), as in transformers' eager attention.
            var encoderMask = Additive(mask.unsqueeze(1).unsqueeze(1), min);             // [b,1,1,k]
            var t = decIds.shape[1];
            var causal = ones(t, t, ScalarType.Bool, device).tril();                       // [q,k]
            var decoderSelf = Additive(causal.unsqueeze(0).unsqueeze(0) & decMask.unsqueeze(1).unsqueeze(1), min);

            var encEmbeds = shared.Forward(ids);
            capture.Record("encoder.embed_tokens", encEmbeds);
            var encoded = encoder.Forward(encEmbeds, encoderMask, null, null, capture);
            capture.Record("encoder_last_hidden_state", encoded);

            var decEmbeds = shared.Forward(decIds);
            capture.Record("decoder.embed_tokens", decEmbeds);
            var decoded = decoder.Forward(decEmbeds, decoderSelf, encoded, encoderMask, capture);
            capture.Record("last_hidden_state", decoded);

            if (capture.Wants("lm_head") || capture.Wants("logits"))
            {
                var x = Hyper.ScaleDecoderOutputs ? decoded.Mul(Math.Pow(Hyper.DModel, -0.5)) : decoded;
                var logits = nn.functional.linear(x, lm_head?.weight ?? shared.weight);
                capture.Record("lm_head", logits);
                capture.Record("logits", logits);
            }
        }
    }

    private Tensor Additive(Tensor allowed, double min) =>
        zeros(allowed.shape, dtype, device).MaskedFill(allowed.logical_not(), min);
}

/// <summary>
/// T5's relative-position buckets (Raffel et al., Mesh TensorFlow): half the buckets for exact distances, the rest
/// logarithmically spaced up to <c>max_distance</c>, everything beyond in the last bucket; bidirectional (encoder)
/// splits the buckets between keys before and after the query, unidirectional (decoder) maps keys after the query
/// to bucket 0.
/// </summary>
public static class T5RelativePosition
{
    /// <summary>Bucket of each relative position (key position − query position), int64 like the input.</summary>
    public static Tensor Bucket(Tensor relativePosition, bool bidirectional, int numBuckets, int maxDistance)
    {
        using var scope = NewDisposeScope();
        var rel = relativePosition.to(ScalarType.Int64);
        var result = zeros_like(rel);
        Tensor n;
        if (bidirectional)
        {
            numBuckets /= 2;
            result = result.Add(rel.Gt(0L).to(ScalarType.Int64).Mul((long)numBuckets));
            n = rel.abs();
        }
        else
        {
            n = rel.neg().ClampMin(0L);
        }
        var maxExact = numBuckets / 2;
        var isSmall = n.Lt((long)maxExact);
        // float32 arithmetic as the reference implementation does it (the small branch hides n = 0).
        var large = n.ClampMin(1L).to(ScalarType.Float32).Div(maxExact).log()
            .Div(Math.Log((double)maxDistance / maxExact)).Mul((double)(numBuckets - maxExact))
            .to(ScalarType.Int64).Add((long)maxExact).ClampMax((long)(numBuckets - 1));
        result = result.Add(where(isSmall, n, large));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Buckets for a [queryLength, keyLength] grid of positions 0.. (no cache offset).</summary>
    public static Tensor Buckets(long queryLength, long keyLength, bool bidirectional, int numBuckets, int maxDistance,
        Device? device = null)
    {
        using var scope = NewDisposeScope();
        var context = ScalarOps.Arange(queryLength, ScalarType.Int64, device).unsqueeze(1);
        var memory = ScalarOps.Arange(keyLength, ScalarType.Int64, device).unsqueeze(0);
        return Bucket(memory - context, bidirectional, numBuckets, maxDistance).MoveToOuterDisposeScope();
    }
}

/// <summary>A bias-free linear layer whose storage is allocated uninitialised (the checkpoint fills it).</summary>
internal sealed class T5Linear : nn.Module
{
    public readonly Parameter weight;

    public T5Linear(long inFeatures, long outFeatures, ScalarType dtype, Device device) : base("Linear")
    {
        weight = new Parameter(empty([outFeatures, inFeatures], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => nn.functional.linear(x, weight);
}

internal sealed class T5Embedding : nn.Module
{
    public readonly Parameter weight;

    public T5Embedding(long count, long dim, ScalarType dtype, Device device) : base("Embedding")
    {
        weight = new Parameter(empty([count, dim], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids)
    {
        var flat = weight.index_select(0, ids.reshape(-1));
        return flat.reshape([.. ids.shape, weight.shape[1]]);
    }
}

/// <summary>RMS norm without mean subtraction or bias; the variance in float32 (transformers' T5LayerNorm).</summary>
internal sealed class T5LayerNorm : nn.Module
{
    public readonly Parameter weight;
    private readonly double eps;

    public T5LayerNorm(long dim, double eps, ScalarType dtype, Device device) : base("T5LayerNorm")
    {
        this.eps = eps;
        weight = new Parameter(empty([dim], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        var variance = x.to(ScalarType.Float32).Squared().mean([-1], keepdim: true);
        var h = x * variance.Add(eps).rsqrt(); // promotes to float32 for half inputs, as in the reference
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) h = h.to(weight.dtype);
        return weight * h;
    }
}

internal sealed class T5Attention : nn.Module
{
#pragma warning disable IDE1006
    private readonly T5Linear q, k, v, o;
    private readonly T5Embedding? relative_attention_bias;
#pragma warning restore IDE1006
    private readonly T5Config h;
    private readonly string path;
    private readonly bool bidirectional;

    public T5Attention(string path, T5Config h, bool hasRelativeBias, bool bidirectional, ScalarType dtype, Device device)
        : base("T5Attention")
    {
        this.path = path;
        this.h = h;
        this.bidirectional = bidirectional;
        q = new T5Linear(h.DModel, h.Inner, dtype, device);
        k = new T5Linear(h.DModel, h.Inner, dtype, device);
        v = new T5Linear(h.DModel, h.Inner, dtype, device);
        o = new T5Linear(h.Inner, h.DModel, dtype, device);
        if (hasRelativeBias) relative_attention_bias = new T5Embedding(h.RelativeAttentionNumBuckets, h.NumHeads, dtype, device);
        RegisterComponents();
    }

    /// <summary>
    /// Attention of <paramref name="x"/> over <paramref name="keyValue"/> (itself when null). The position bias
    /// ([1, heads, q, k], without the mask) is computed when <paramref name="positionBias"/> is null — from the
    /// relative buckets in a layer that has the table, zeros otherwise — and returned for the following layers.
    /// </summary>
    public (Tensor Output, Tensor PositionBias, Tensor Probs) Forward(Tensor x, Tensor? keyValue, Tensor? positionBias,
        Tensor mask, ActivationCapture capture)
    {
        var src = keyValue ?? x;
        long b = x.shape[0], qLen = x.shape[1], kLen = src.shape[1];
        var qs = q.Forward(x);
        capture.Record(path + ".q", qs);
        var ks = k.Forward(src);
        capture.Record(path + ".k", ks);
        var vs = v.Forward(src);
        capture.Record(path + ".v", vs);
        Tensor Heads(Tensor t, long len) => t.view(b, len, h.NumHeads, h.DKv).transpose(1, 2);

        var scores = Heads(qs, qLen).matmul(Heads(ks, kLen).transpose(2, 3)); // T5: no 1/sqrt(d_kv)
        bool hasBias = true;
        if (positionBias is null)
        {
            if (relative_attention_bias is not null)
            {
                var buckets = T5RelativePosition.Buckets(qLen, kLen, bidirectional, h.RelativeAttentionNumBuckets,
                    h.RelativeAttentionMaxDistance, x.device);
                var values = relative_attention_bias.Forward(buckets); // [q, k, heads]
                capture.Record(path + ".relative_attention_bias", values);
                positionBias = values.permute(2, 0, 1).unsqueeze(0);
            }
            else
            {
                positionBias = zeros([1, h.NumHeads, qLen, kLen], scores.dtype, x.device);
                hasBias = false;
            }
        }
        capture.Record(path + ".position_bias", positionBias);
        // In place: one [heads, q, k] map for the scores, one for the probabilities.
        if (hasBias) scores.AddInPlace(positionBias);
        scores.AddInPlace(mask);
        capture.Record(path + ".scores", scores);
        var probs = scores.softmax(-1, ScalarType.Float32).to(scores.dtype);
        capture.Record(path + ".probs", probs);

        var context = probs.matmul(Heads(vs, kLen)).transpose(1, 2).reshape(b, qLen, h.Inner);
        var output = o.Forward(context);
        capture.Record(path + ".o", output);
        capture.Record(path + "#0", output);
        capture.Record(path + "#1", positionBias);
        capture.Record(path + "#2", probs);
        return (output, positionBias, probs);
    }
}

/// <summary><c>T5LayerSelfAttention</c> / <c>T5LayerCrossAttention</c>: pre-norm attention with a residual.</summary>
internal sealed class T5AttentionLayer : nn.Module
{
#pragma warning disable IDE1006
    private readonly T5Attention? SelfAttention;
    private readonly T5Attention? EncDecAttention;
    private readonly T5LayerNorm layer_norm;
#pragma warning restore IDE1006
    private readonly string path;

    public T5AttentionLayer(string path, T5Config h, bool cross, bool hasRelativeBias, bool bidirectional,
        ScalarType dtype, Device device) : base(cross ? "T5LayerCrossAttention" : "T5LayerSelfAttention")
    {
        this.path = path;
        var attention = new T5Attention(path + (cross ? ".EncDecAttention" : ".SelfAttention"), h, hasRelativeBias,
            bidirectional, dtype, device);
        if (cross) EncDecAttention = attention;
        else SelfAttention = attention;
        layer_norm = new T5LayerNorm(h.DModel, h.LayerNormEpsilon, dtype, device);
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor PositionBias, Tensor Probs) Forward(Tensor x, Tensor? keyValue, Tensor? positionBias,
        Tensor mask, ActivationCapture capture)
    {
        var normed = layer_norm.Forward(x);
        capture.Record(path + ".layer_norm", normed);
        var (output, bias, probs) = (SelfAttention ?? EncDecAttention)!.Forward(normed, keyValue, positionBias, mask, capture);
        var hidden = x.Add(output);
        capture.Record(path + "#0", hidden);
        capture.Record(path + "#1", bias);
        capture.Record(path + "#2", probs);
        return (hidden, bias, probs);
    }
}

/// <summary><c>T5DenseActDense</c> (wi → act → wo) or <c>T5DenseGatedActDense</c> (act(wi_0) · wi_1 → wo).</summary>
internal sealed class T5Dense : nn.Module
{
#pragma warning disable IDE1006
    private readonly T5Linear? wi;
    private readonly T5Linear? wi_0;
    private readonly T5Linear? wi_1;
    private readonly T5Linear wo;
#pragma warning restore IDE1006
    private readonly string path;
    private readonly Func<Tensor, Tensor> act;

    public T5Dense(string path, T5Config h, ScalarType dtype, Device device) : base("T5Dense")
    {
        this.path = path;
        var actName = h.DenseActFn;
        act = t => DecoderOps.Activation(actName, t);
        if (h.IsGatedAct)
        {
            wi_0 = new T5Linear(h.DModel, h.DFf, dtype, device);
            wi_1 = new T5Linear(h.DModel, h.DFf, dtype, device);
        }
        else wi = new T5Linear(h.DModel, h.DFf, dtype, device);
        // transformers keeps T5's wo in float32 when loading in float16 (_keep_in_fp32_modules).
        wo = new T5Linear(h.DFf, h.DModel, dtype == ScalarType.Float16 ? ScalarType.Float32 : dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture)
    {
        Tensor hidden;
        if (wi is not null)
        {
            var up = wi.Forward(x);
            capture.Record(path + ".wi", up);
            hidden = act(up);
            capture.Record(path + ".act", hidden);
        }
        else
        {
            var gate = wi_0!.Forward(x);
            capture.Record(path + ".wi_0", gate);
            var activated = act(gate);
            capture.Record(path + ".act", activated);
            var linear = wi_1!.Forward(x);
            capture.Record(path + ".wi_1", linear);
            hidden = activated * linear;
        }
        if (hidden.dtype != wo.weight.dtype) hidden = hidden.to(wo.weight.dtype);
        var output = wo.Forward(hidden);
        capture.Record(path + ".wo", output);
        capture.Record(path, output);
        return output;
    }
}

internal sealed class T5LayerFF : nn.Module
{
#pragma warning disable IDE1006
    private readonly T5Dense DenseReluDense;
    private readonly T5LayerNorm layer_norm;
#pragma warning restore IDE1006
    private readonly string path;

    public T5LayerFF(string path, T5Config h, ScalarType dtype, Device device) : base("T5LayerFF")
    {
        this.path = path;
        DenseReluDense = new T5Dense(path + ".DenseReluDense", h, dtype, device);
        layer_norm = new T5LayerNorm(h.DModel, h.LayerNormEpsilon, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture)
    {
        var normed = layer_norm.Forward(x);
        capture.Record(path + ".layer_norm", normed);
        var hidden = x.Add(DenseReluDense.Forward(normed, capture));
        capture.Record(path, hidden);
        return hidden;
    }
}

internal sealed class T5Block : nn.Module
{
    private readonly ModuleList<nn.Module> layer;
    private readonly string path;
    private readonly bool isDecoder;

    public T5Block(string path, T5Config h, bool isDecoder, bool hasRelativeBias, ScalarType dtype, Device device)
        : base("T5Block")
    {
        this.path = path;
        this.isDecoder = isDecoder;
        var layers = new List<nn.Module>
        {
            new T5AttentionLayer(path + ".layer.0", h, cross: false, hasRelativeBias, bidirectional: !isDecoder, dtype, device),
        };
        if (isDecoder)
            layers.Add(new T5AttentionLayer(path + ".layer.1", h, cross: true, hasRelativeBias: false, bidirectional: true, dtype, device));
        layers.Add(new T5LayerFF(path + $".layer.{layers.Count}", h, dtype, device));
        layer = new ModuleList<nn.Module>([.. layers]);
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor SelfBias, Tensor? CrossBias, Tensor SelfProbs, Tensor? CrossProbs) Forward(
        Tensor x, Tensor? selfBias, Tensor selfMask, Tensor? encoded, Tensor? crossBias, Tensor? crossMask,
        ActivationCapture capture)
    {
        var (hidden, sBias, sProbs) = ((T5AttentionLayer)layer[0]).Forward(x, null, selfBias, selfMask, capture);
        hidden = ClampHalf(hidden);
        Tensor? cProbs = null;
        if (isDecoder)
        {
            (hidden, crossBias, cProbs) = ((T5AttentionLayer)layer[1]).Forward(hidden, encoded!, crossBias, crossMask!, capture);
            hidden = ClampHalf(hidden);
        }
        hidden = ClampHalf(((T5LayerFF)layer[^1]).Forward(hidden, capture));
        capture.Record(path + "#0", hidden);
        capture.Record(path + "#1", sBias);
        if (isDecoder) capture.Record(path + "#2", crossBias!);
        return (hidden, sBias, crossBias, sProbs, cProbs);
    }

    /// <summary>float16 overflow guard of the reference: infinities are clamped to ±(max − 1000).</summary>
    private static Tensor ClampHalf(Tensor x)
    {
        if (x.dtype != ScalarType.Float16 || !x.isinf().any().item<bool>()) return x;
        var limit = finfo(ScalarType.Float16).max - 1000;
        return x.Clamp(-limit, limit);
    }
}

internal sealed class T5Stack : nn.Module
{
#pragma warning disable IDE1006
    private readonly ModuleList<T5Block> block;
    private readonly T5LayerNorm final_layer_norm;
#pragma warning restore IDE1006
    private readonly string path;
    private readonly bool isDecoder;

    public T5Stack(string path, T5Config h, bool isDecoder, ScalarType dtype, Device device) : base("T5Stack")
    {
        this.path = path;
        this.isDecoder = isDecoder;
        var count = isDecoder ? h.NumDecoderLayers : h.NumLayers;
        block = new ModuleList<T5Block>([.. Enumerable.Range(0, count)
            .Select(i => new T5Block($"{path}.block.{i}", h, isDecoder, hasRelativeBias: i == 0, dtype, device))]);
        final_layer_norm = new T5LayerNorm(h.DModel, h.LayerNormEpsilon, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor embeds, Tensor selfMask, Tensor? encoded, Tensor? crossMask, ActivationCapture capture)
    {
        var prefix = isDecoder ? "decoder_" : "encoder_";
        var hidden = embeds;
        Tensor? selfBias = null, crossBias = null;
        for (var i = 0; i < block.Count; i++)
        {
            capture.Record($"{prefix}hidden_states.{i}", hidden);
            // Each block in its own dispose scope: only the running hidden state and the position biases (made in
            // block 0, shared by every later block) leave it.
            using var scope = NewDisposeScope();
            var (next, sBias, cBias, sProbs, cProbs) =
                block[i].Forward(hidden, selfBias, selfMask, encoded, crossBias, crossMask, capture);
            capture.Record($"{prefix}attentions.{i}", sProbs);
            if (cProbs is not null) capture.Record($"cross_attentions.{i}", cProbs);
            selfBias ??= sBias.MoveToOuterDisposeScope();
            if (cBias is not null) crossBias ??= cBias.MoveToOuterDisposeScope();
            if (!ReferenceEquals(hidden, embeds)) hidden.Dispose();
            hidden = next.MoveToOuterDisposeScope();
        }
        hidden = final_layer_norm.Forward(hidden);
        capture.Record(path + ".final_layer_norm", hidden);
        capture.Record($"{prefix}hidden_states.{block.Count}", hidden);
        return hidden;
    }
}
