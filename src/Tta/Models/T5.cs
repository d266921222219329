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
public sealed class T5Model : nn.Module, ILanguageModelHead
{
#pragma warning disable IDE1006 // field names are the checkpoint's module names
    private readonly T5Embedding shared;
    private readonly T5Stack encoder;
    private readonly T5Stack decoder;
    private readonly T5Linear? lm_head;
#pragma warning restore IDE1006

    private readonly Device device;
    private readonly ScalarType compute;

    public JsonObject Config { get; }
    public T5Config Hyper { get; }
    public ScalarType ComputeDType => compute;
    public Device Device => device;
    IArchitecture ITransformerModel.Architecture => Architecture.Instance;

    internal static readonly CaptureSite EncoderRoot = CaptureSite.Root("encoder");
    internal static readonly CaptureSite DecoderRoot = CaptureSite.Root("decoder");
    internal static readonly OutputFields EncoderFields = new("encoder", "encoder_");
    internal static readonly OutputFields DecoderFields = new("decoder", "decoder_");

    /// <summary>
    /// T5's facts: an encoder and a decoder stack, the <c>shared</c> embedding, a decoder that starts from
    /// <c>decoder_start_token_id</c>, and an unscaled query·key term per head beside the relative position bias.
    /// </summary>
    public sealed class Architecture : IArchitecture
    {
        public static readonly Architecture Instance = new();

        public string ModelType => "t5";
        public IReadOnlyList<string> Stacks { get; } = ["encoder", "decoder"];
        public ITransformerModel Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device) =>
            T5Model.Load(checkpoint, dtype, compute, device);
        public ModelFacts Facts(JsonObject config) => T5Model.Facts(config);
        public IReadOnlyList<string> InputEmbeddingKeys { get; } = ["shared.weight", "encoder.embed_tokens.weight"];

        public ModelInputs ForText(JsonObject config, long[] ids)
        {
            var input = tensor(ids, [1, ids.Length], ScalarType.Int64);
            var start = config.Int("decoder_start_token_id", config.Int("pad_token_id", 0));
            var decoder = cat([tensor(new long[] { start }, [1, 1], ScalarType.Int64), input[.., ..^1]], 1);
            return new ModelInputs(input, ones_like(input), DecoderInputIds: decoder, DecoderAttentionMask: ones_like(decoder));
        }

        public IEnumerable<CapturePoint> CapturePoints(JsonObject config) => Points(T5Config.From(config));

        public string? HeadStack => DecoderRoot.Stack;

        public bool IsAfterFinalNorm(CapturePoint point, JsonObject config) =>
            point.Stack == DecoderRoot.Stack && (point.Name == DecoderFields.HiddenState(T5Config.From(config).NumDecoderLayers).Name
                || point.Name == DecoderFields.Output("last_hidden_state").Name || point.Name == T5Stack.FinalNormPoint(isDecoder: true).Name);

        // The decoder sees the text shifted right behind its start token (ForText), so position p predicts the text's id p.
        public IReadOnlyList<long?> NextTokens(JsonObject config, long[] ids) => [.. ids.Select(id => (long?)id)];

        private static IEnumerable<CapturePoint> Points(T5Config h) =>
            T5Stack.Points(h, isDecoder: false).Prepend(EncoderRoot.Of("encoder.embed_tokens"))
                .Append(EncoderFields.Output("encoder_last_hidden_state")).Append(DecoderRoot.Of("decoder.embed_tokens"))
                .Concat(T5Stack.Points(h, isDecoder: true))
                .Concat([DecoderFields.Output("last_hidden_state"), DecoderRoot.Of("lm_head"), DecoderFields.Logits]);

        public IReadOnlySet<CaptureKind> QueryKeyKinds { get; } = new HashSet<CaptureKind> { CaptureKind.Query, CaptureKind.Key, CaptureKind.PositionBias };

        // No 1/√d_kv: T5 folds it into the initialisation.
        public QueryKeyTerms? QueryKey(ActivationCapture capture, CapturePoint scores, int heads, JsonObject config) =>
            capture.Find(scores.Path, CaptureKind.Query) is { } q && capture.Find(scores.Path, CaptureKind.Key) is { } k
                ? new QueryKeyTerms(q[0], k[0], heads, heads, 1.0)
                : null;
    }

    private T5Model(JsonObject config, bool ownLmHead, ScalarType dtype, ScalarType compute, Device device) : base("T5ForConditionalGeneration")
    {
        Config = config;
        Hyper = T5Config.From(config);
        this.compute = compute;
        this.device = device;
        var h = Hyper;
        shared = new T5Embedding(h.VocabSize, h.DModel, dtype, compute, device);
        encoder = new T5Stack(h, isDecoder: false, dtype, compute, device);
        decoder = new T5Stack(h, isDecoder: true, dtype, compute, device);
        if (ownLmHead) lm_head = new T5Linear(h.DModel, h.VocabSize, dtype, device);
        RegisterComponents();
    }

    /// <summary>
    /// Builds the model with its weights in <paramref name="dtype"/> on <paramref name="device"/>, computing in
    /// <paramref name="compute"/> (see <see cref="ComputeDTypes"/>), and loads the checkpoint's weights.
    /// The head is <c>lm_head.weight</c> when the checkpoint has one, else the shared embedding (tied).
    /// As transformers does for T5, float16 keeps the feed-forward output projections (<c>wo</c>) in float32.
    /// </summary>
    public static T5Model Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device = null)
    {
        ComputeDTypes.Check("T5", dtype, compute);
        var model = new T5Model(checkpoint.Config, checkpoint.Contains("lm_head.weight"), dtype, compute, device ?? CPU);
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

            var min = finfo(compute).min;
            // Additive masks (0 where attended, the dtype's minimum where not), as in transformers' eager attention.
            var encoderMask = Additive(mask.unsqueeze(1).unsqueeze(1), min);             // [b,1,1,k]
            var t = decIds.shape[1];
            var causal = ones(t, t, ScalarType.Bool, device).tril();                       // [q,k]
            var decoderSelf = Additive(causal.unsqueeze(0).unsqueeze(0) & decMask.unsqueeze(1).unsqueeze(1), min);

            var encEmbeds = shared.Forward(ids);
            capture.Record(EncoderRoot.Of("encoder.embed_tokens"), encEmbeds);
            var encoded = encoder.Forward(encEmbeds, encoderMask, null, null, capture);
            capture.Record(EncoderFields.Output("encoder_last_hidden_state"), encoded);

            var decEmbeds = shared.Forward(decIds);
            capture.Record(DecoderRoot.Of("decoder.embed_tokens"), decEmbeds);
            var decoded = decoder.Forward(decEmbeds, decoderSelf, encoded, encoderMask, capture);
            capture.Record(DecoderFields.Output("last_hidden_state"), decoded);

            var (head, logitsField) = (DecoderRoot.Of("lm_head"), DecoderFields.Logits);
            if (capture.Wants(head) || capture.Wants(logitsField))
            {
                var logits = Unembed(decoded);
                capture.Record(head, logits);
                capture.Record(logitsField, logits);
            }
        }
    }

    public Tensor FinalNorm(Tensor residual) => decoder.FinalNorm(residual);

    public Tensor Unembed(Tensor normalized)
    {
        var x = Hyper.ScaleDecoderOutputs ? normalized.Mul(Math.Pow(Hyper.DModel, -0.5)) : normalized;
        return ComputeWeights.Linear(x, lm_head?.weight ?? shared.weight);
    }

    private Tensor Additive(Tensor allowed, double min) =>
        zeros(allowed.shape, compute, device).MaskedFill(allowed.logical_not(), min);
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

    public Tensor Forward(Tensor x) => ComputeWeights.Linear(x, weight);
}

/// <summary>An embedding table stored in the load dtype whose rows come out in the compute dtype.</summary>
internal sealed class T5Embedding : nn.Module
{
    public readonly Parameter weight;
    private readonly ScalarType compute;

    public T5Embedding(long count, long dim, ScalarType dtype, ScalarType compute, Device device) : base("Embedding")
    {
        weight = new Parameter(empty([count, dim], dtype, device), requires_grad: false);
        this.compute = compute;
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids) => ComputeWeights.Rows(weight, ids, compute);
}

/// <summary>
/// RMS norm without mean subtraction or bias; the variance in float32 (transformers' T5LayerNorm). The reference
/// casts back to the weight's dtype when that is half precision: here to the compute dtype, which is the weight's
/// when the model computes in its load dtype.
/// </summary>
internal sealed class T5LayerNorm : nn.Module
{
    public readonly Parameter weight;
    private readonly double eps;
    private readonly ScalarType compute;

    public T5LayerNorm(long dim, double eps, ScalarType dtype, ScalarType compute, Device device) : base("T5LayerNorm")
    {
        this.eps = eps;
        this.compute = compute;
        weight = new Parameter(empty([dim], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        var variance = x.to(ScalarType.Float32).Squared().mean([-1], keepdim: true);
        var h = x * variance.Add(eps).rsqrt(); // promotes to float32 for half inputs, as in the reference
        if (compute is ScalarType.Float16 or ScalarType.BFloat16) h = h.to(compute);
        using var w = new ComputeWeight(weight, h.dtype);
        return w.Value * h;
    }
}

internal sealed class T5Attention : nn.Module
{
#pragma warning disable IDE1006
    private readonly T5Linear q, k, v, o;
    private readonly T5Embedding? relative_attention_bias;
#pragma warning restore IDE1006
    private readonly T5Config h;
    private readonly CaptureSite at;
    private readonly bool bidirectional;

    public T5Attention(CaptureSite at, T5Config h, bool hasRelativeBias, bool bidirectional, ScalarType dtype, ScalarType compute,
        Device device) : base("T5Attention")
    {
        this.at = at;
        this.h = h;
        this.bidirectional = bidirectional;
        q = new T5Linear(h.DModel, h.Inner, dtype, device);
        k = new T5Linear(h.DModel, h.Inner, dtype, device);
        v = new T5Linear(h.DModel, h.Inner, dtype, device);
        o = new T5Linear(h.Inner, h.DModel, dtype, device);
        if (hasRelativeBias) relative_attention_bias = new T5Embedding(h.RelativeAttentionNumBuckets, h.NumHeads, dtype, compute, device);
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
        capture.Record(at.Part("q", CaptureKind.Query), qs);
        var ks = k.Forward(src);
        capture.Record(at.Part("k", CaptureKind.Key), ks);
        var vs = v.Forward(src);
        capture.Record(at.Part("v", CaptureKind.Value), vs);
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
                capture.Record(at.Of("relative_attention_bias"), values);
                positionBias = values.permute(2, 0, 1).unsqueeze(0);
            }
            else
            {
                positionBias = zeros([1, h.NumHeads, qLen, kLen], scores.dtype, x.device);
                hasBias = false;
            }
        }
        capture.Record(at.Part("position_bias", CaptureKind.PositionBias), positionBias);
        // In place: one [heads, q, k] map for the scores, one for the probabilities.
        if (hasBias) scores.AddInPlace(positionBias);
        scores.AddInPlace(mask);
        capture.Record(at.Part("scores", CaptureKind.AttentionScores), scores);
        var probs = scores.softmax(-1, ScalarType.Float32).to(scores.dtype);
        capture.Record(at.Part("probs", CaptureKind.AttentionProbs), probs);

        var context = probs.matmul(Heads(vs, kLen)).transpose(1, 2).reshape(b, qLen, h.Inner);
        var output = o.Forward(context);
        capture.Record(at.Of("o"), output);
        capture.Record(at.Item(0), output);
        capture.Record(at.Item(1), positionBias);
        capture.Record(at.Item(2), probs);
        return (output, positionBias, probs);
    }

    /// <summary>What <see cref="Forward"/> records, in order (<paramref name="relativeBias"/>: this call computes the bias from its table).</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at, bool relativeBias)
    {
        yield return at.Part("q", CaptureKind.Query);
        yield return at.Part("k", CaptureKind.Key);
        yield return at.Part("v", CaptureKind.Value);
        if (relativeBias) yield return at.Of("relative_attention_bias");
        yield return at.Part("position_bias", CaptureKind.PositionBias);
        yield return at.Part("scores", CaptureKind.AttentionScores);
        yield return at.Part("probs", CaptureKind.AttentionProbs);
        yield return at.Of("o");
        for (var i = 0; i < 3; i++) yield return at.Item(i);
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
    private readonly CaptureSite at;

    public T5AttentionLayer(CaptureSite at, T5Config h, bool cross, bool hasRelativeBias, bool bidirectional,
        ScalarType dtype, ScalarType compute, Device device) : base(cross ? "T5LayerCrossAttention" : "T5LayerSelfAttention")
    {
        this.at = at;
        var attention = new T5Attention(AttentionSite(at, cross), h, hasRelativeBias, bidirectional, dtype, compute, device);
        if (cross) EncDecAttention = attention;
        else SelfAttention = attention;
        layer_norm = new T5LayerNorm(h.DModel, h.LayerNormEpsilon, dtype, compute, device);
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor PositionBias, Tensor Probs) Forward(Tensor x, Tensor? keyValue, Tensor? positionBias,
        Tensor mask, ActivationCapture capture)
    {
        var normed = layer_norm.Forward(x);
        capture.Record(at.Of("layer_norm"), normed);
        var (output, bias, probs) = (SelfAttention ?? EncDecAttention)!.Forward(normed, keyValue, positionBias, mask, capture);
        var hidden = x.Add(output);
        capture.Record(at.Item(0), hidden);
        capture.Record(at.Item(1), bias);
        capture.Record(at.Item(2), probs);
        return (hidden, bias, probs);
    }

    private static CaptureSite AttentionSite(CaptureSite at, bool cross) =>
        cross ? at.Child("EncDecAttention").AsCross() : at.Child("SelfAttention");

    /// <summary>What <see cref="Forward"/> records, in order.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at, bool cross, bool relativeBias) =>
        [at.Of("layer_norm"), .. T5Attention.Points(AttentionSite(at, cross), relativeBias), at.Item(0), at.Item(1), at.Item(2)];
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
    private readonly CaptureSite at;
    private readonly Func<Tensor, Tensor> act;
    private readonly ScalarType woCompute;

    public T5Dense(CaptureSite at, T5Config h, ScalarType dtype, ScalarType compute, Device device) : base("T5Dense")
    {
        this.at = at;
        var actName = h.DenseActFn;
        act = t => DecoderOps.Activation(actName, t);
        if (h.IsGatedAct)
        {
            wi_0 = new T5Linear(h.DModel, h.DFf, dtype, device);
            wi_1 = new T5Linear(h.DModel, h.DFf, dtype, device);
        }
        else wi = new T5Linear(h.DModel, h.DFf, dtype, device);
        // transformers keeps T5's wo in float32 when loading in float16 (_keep_in_fp32_modules): stored so, and
        // computed so when the model computes in float16.
        wo = new T5Linear(h.DFf, h.DModel, dtype == ScalarType.Float16 ? ScalarType.Float32 : dtype, device);
        woCompute = compute == ScalarType.Float16 ? ScalarType.Float32 : compute;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture)
    {
        Tensor hidden;
        if (wi is not null)
        {
            var up = wi.Forward(x);
            capture.Record(at.Of("wi"), up);
            hidden = act(up);
            capture.Record(at.Of("act"), hidden);
        }
        else
        {
            var gate = wi_0!.Forward(x);
            capture.Record(at.Of("wi_0"), gate);
            var activated = act(gate);
            capture.Record(at.Of("act"), activated);
            var linear = wi_1!.Forward(x);
            capture.Record(at.Of("wi_1"), linear);
            hidden = activated * linear;
        }
        if (hidden.dtype != woCompute) hidden = hidden.to(woCompute);
        var output = wo.Forward(hidden);
        capture.Record(at.Of("wo"), output);
        capture.Record(at.Module, output);
        return output;
    }

    /// <summary>What <see cref="Forward"/> records, in order.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at, bool gated) => gated
        ? [at.Of("wi_0"), at.Of("act"), at.Of("wi_1"), at.Of("wo"), at.Module]
        : [at.Of("wi"), at.Of("act"), at.Of("wo"), at.Module];
}

internal sealed class T5LayerFF : nn.Module
{
#pragma warning disable IDE1006
    private readonly T5Dense DenseReluDense;
    private readonly T5LayerNorm layer_norm;
#pragma warning restore IDE1006
    private readonly CaptureSite at;

    public T5LayerFF(CaptureSite at, T5Config h, ScalarType dtype, ScalarType compute, Device device) : base("T5LayerFF")
    {
        this.at = at;
        DenseReluDense = new T5Dense(at.Child("DenseReluDense"), h, dtype, compute, device);
        layer_norm = new T5LayerNorm(h.DModel, h.LayerNormEpsilon, dtype, compute, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture)
    {
        var normed = layer_norm.Forward(x);
        capture.Record(at.Of("layer_norm"), normed);
        var hidden = x.Add(DenseReluDense.Forward(normed, capture));
        capture.Record(at.Module, hidden);
        return hidden;
    }

    /// <summary>What <see cref="Forward"/> records, in order.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at, bool gated) =>
        [at.Of("layer_norm"), .. T5Dense.Points(at.Child("DenseReluDense"), gated), at.Module];
}

internal sealed class T5Block : nn.Module
{
    private readonly ModuleList<nn.Module> layer;
    private readonly CaptureSite at;
    private readonly bool isDecoder;

    public T5Block(CaptureSite at, T5Config h, bool isDecoder, bool hasRelativeBias, ScalarType dtype, ScalarType compute,
        Device device) : base("T5Block")
    {
        this.at = at;
        this.isDecoder = isDecoder;
        var layers = new List<nn.Module>
        {
            new T5AttentionLayer(at.Child("layer.0"), h, cross: false, hasRelativeBias, bidirectional: !isDecoder, dtype, compute, device),
        };
        if (isDecoder)
            layers.Add(new T5AttentionLayer(at.Child("layer.1"), h, cross: true, hasRelativeBias: false, bidirectional: true, dtype, compute, device));
        layers.Add(new T5LayerFF(at.Child($"layer.{layers.Count}"), h, dtype, compute, device));
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
        capture.Record(at.Item(0), hidden);
        capture.Record(at.Item(1), sBias);
        if (isDecoder) capture.Record(at.Item(2), crossBias!);
        return (hidden, sBias, crossBias, sProbs, cProbs);
    }

    /// <summary>What <see cref="Forward"/> records, in order (the first block computes the self-attention bias from its table).</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at, T5Config h, bool isDecoder)
    {
        var first = at.Layer == 0;
        var points = T5AttentionLayer.Points(at.Child("layer.0"), cross: false, relativeBias: first);
        if (isDecoder) points = points.Concat(T5AttentionLayer.Points(at.Child("layer.1"), cross: true, relativeBias: false));
        points = points.Concat(T5LayerFF.Points(at.Child(isDecoder ? "layer.2" : "layer.1"), h.IsGatedAct)).Concat([at.Item(0), at.Item(1)]);
        return isDecoder ? points.Append(at.Item(2)) : points;
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
    private readonly CaptureSite at;
    private readonly OutputFields fields;

    public T5Stack(T5Config h, bool isDecoder, ScalarType dtype, ScalarType compute, Device device) : base("T5Stack")
    {
        (at, fields) = Sites(isDecoder);
        var count = isDecoder ? h.NumDecoderLayers : h.NumLayers;
        block = new ModuleList<T5Block>([.. Enumerable.Range(0, count)
            .Select(i => new T5Block(at.Child("block").Block(i), h, isDecoder, hasRelativeBias: i == 0, dtype, compute, device))]);
        final_layer_norm = new T5LayerNorm(h.DModel, h.LayerNormEpsilon, dtype, compute, device);
        RegisterComponents();
    }

    private static (CaptureSite At, OutputFields Fields) Sites(bool isDecoder) => isDecoder
        ? (T5Model.DecoderRoot.Child("decoder"), T5Model.DecoderFields)
        : (T5Model.EncoderRoot.Child("encoder"), T5Model.EncoderFields);

    /// <summary>What <see cref="Forward"/> records, in order (lazily).</summary>
    public static IEnumerable<CapturePoint> Points(T5Config h, bool isDecoder)
    {
        var (at, fields) = Sites(isDecoder);
        var count = isDecoder ? h.NumDecoderLayers : h.NumLayers;
        for (var i = 0; i < count; i++)
        {
            yield return fields.HiddenState(i);
            foreach (var p in T5Block.Points(at.Child("block").Block(i), h, isDecoder)) yield return p;
            yield return fields.Attentions(i);
            if (isDecoder) yield return fields.CrossAttentions(i);
        }
        yield return FinalNormPoint(isDecoder);
        yield return fields.HiddenState(count);
    }

    /// <summary>The output of the stack's final norm (<c>decoder.final_layer_norm</c>).</summary>
    public static CapturePoint FinalNormPoint(bool isDecoder) => Sites(isDecoder).At.Of("final_layer_norm");

    /// <summary>The stack's final norm on a residual-stream state (the logit lens's first step).</summary>
    public Tensor FinalNorm(Tensor residual) => final_layer_norm.Forward(residual);

    public Tensor Forward(Tensor embeds, Tensor selfMask, Tensor? encoded, Tensor? crossMask, ActivationCapture capture)
    {
        var hidden = embeds;
        Tensor? selfBias = null, crossBias = null;
        for (var i = 0; i < block.Count; i++)
        {
            capture.Record(fields.HiddenState(i), hidden);
            // Each block in its own dispose scope: only the running hidden state and the position biases (made in
            // block 0, shared by every later block) leave it.
            using var scope = NewDisposeScope();
            var (next, sBias, cBias, sProbs, cProbs) =
                block[i].Forward(hidden, selfBias, selfMask, encoded, crossBias, crossMask, capture);
            capture.Record(fields.Attentions(i), sProbs);
            if (cProbs is not null) capture.Record(fields.CrossAttentions(i), cProbs);
            selfBias ??= sBias.MoveToOuterDisposeScope();
            if (cBias is not null) crossBias ??= cBias.MoveToOuterDisposeScope();
            if (!ReferenceEquals(hidden, embeds)) hidden.Dispose();
            hidden = next.MoveToOuterDisposeScope();
        }
        hidden = final_layer_norm.Forward(hidden);
        capture.Record(at.Of("final_layer_norm"), hidden);
        capture.Record(fields.HiddenState(block.Count), hidden);
        return hidden;
    }
}
