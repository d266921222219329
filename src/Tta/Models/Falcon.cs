using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Falcon (<c>model_type</c> "falcon") with rotary positions and a fused <c>query_key_value</c> projection, in the
/// layouts the config flags select:
/// <list type="bullet">
/// <item>falcon-7b: <c>multi_query</c> (one KV head), <c>parallel_attn</c> (attention and MLP read the same
/// <c>input_layernorm</c> output and are added to the residual together);</item>
/// <item>falcon-40b/180b: <c>new_decoder_architecture</c>, <c>num_kv_heads</c> KV groups whose query heads precede
/// their key and value in the fused output, separate <c>ln_attn</c> and <c>ln_mlp</c>
/// (<c>num_ln_in_parallel_attn</c> 2, the default) or one shared <c>input_layernorm</c> (1);</item>
/// <item>sequential blocks (<c>parallel_attn</c> false): <c>input_layernorm</c>, attention, residual,
/// <c>post_attention_layernorm</c>, MLP, residual; without <c>multi_query</c> the fused output interleaves q, k, v
/// per head.</item>
/// </list>
/// ALiBi checkpoints (<c>alibi</c> true, falcon-rw) are refused.
/// </summary>
public sealed class Falcon : DecoderModel
{
    private readonly FalconBody transformer;
    private readonly LinearMap? lm_head;
    private readonly Rotary rotary;
    private readonly int layers;

    /// <summary>
    /// Falcon's facts: <c>transformer.word_embeddings</c>; its fused, layout-dependent query_key_value projection is
    /// not decomposed (no query·key term).
    /// </summary>
    public sealed class Architecture : IArchitecture
    {
        public static readonly Architecture Instance = new();

        public string ModelType => "falcon";
        public string? HeadStack => Root.Stack;
        public bool IsAfterFinalNorm(CapturePoint point, JsonObject config) =>
            DecoderModel.IsAfterFinalNorm(point, "transformer.ln_f", FalconConfig.From(config).Layers);
        public IReadOnlyList<string> Stacks { get; } = ["decoder-only"];
        public ITransformerModel Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device) =>
            new Falcon(checkpoint, dtype, compute, device);
        public ModelFacts Facts(JsonObject config) => Falcon.Facts(config);
        public IReadOnlyList<string> InputEmbeddingKeys { get; } = ["transformer.word_embeddings.weight", "word_embeddings.weight"];

        public IEnumerable<CapturePoint> CapturePoints(JsonObject config)
        {
            var c = FalconConfig.From(config);
            return AllPoints([Root.Of("transformer.word_embeddings"), .. RotaryPoints], c.Layers,
                i => FalconBlock.Points(BlockSite(i), c.Shape.Norms), "transformer.ln_f");
        }

        public IReadOnlySet<CaptureKind> QueryKeyKinds { get; } = new HashSet<CaptureKind>();

        public QueryKeyTerms? QueryKey(ActivationCapture capture, CapturePoint scores, int heads, JsonObject config) => null;
    }

    private static readonly CapturePoint[] RotaryPoints = Rotary.Points(Root.Child("transformer.rotary_emb"));

    private static CaptureSite BlockSite(int i) => Root.Child("transformer.h").Block(i);

    /// <summary>
    /// Reproduces a transformers 5.x defect the reference fixtures were recorded with: FalconAttention, asked for
    /// attention weights on a model loaded with the default SDPA implementation, takes its eager branch but adds the
    /// boolean mask built for SDPA to the scores, i.e. +1 where attending is allowed and +0 elsewhere — no causal or
    /// padding masking at all. Off by default (real causal attention); the fixture comparison turns it on to check
    /// every other tensor against the reference bit for bit.
    /// </summary>
    public bool EmulateReferenceBoolMaskBug { get; set; }

    public Falcon(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device = null)
        : base(nameof(Falcon), Architecture.Instance, checkpoint.Config, dtype, compute, device)
    {
        var c = FalconConfig.From(checkpoint.Config);
        layers = c.Layers;
        rotary = new Rotary(checkpoint.Config, c.Shape.HeadDim, Architecture.Instance.ModelType);
        transformer = new FalconBody(c.Vocab, layers, c.Shape, dtype, Device);
        if (!c.TieWordEmbeddings) lm_head = new LinearMap(c.Shape.Hidden, c.Vocab, false, dtype, Device);
        RegisterComponents();
        LoadWeights(checkpoint, "transformer.");
    }

    /// <summary>The checkpoint layout and activation sizes of a Falcon config (validated, nothing allocated).</summary>
    public static ModelFacts Facts(JsonObject config)
    {
        var c = FalconConfig.From(config);
        var s = c.Shape;
        long hidden = s.Hidden, ffn = s.Ffn;
        var block = new LayoutBuilder("transformer.h.{i}.");
        if (s.Norms == FalconNorms.TwoParallel) block.Norm("ln_attn", hidden).Norm("ln_mlp", hidden);
        else block.Norm("input_layernorm", hidden);
        if (s.Norms == FalconNorms.Sequential) block.Norm("post_attention_layernorm", hidden);
        block.Linear("self_attention.query_key_value", s.FusedWidth, hidden, s.Bias)
            .Linear("self_attention.dense", hidden, hidden, s.Bias)
            .Linear("mlp.dense_h_to_4h", ffn, hidden, s.Bias)
            .Linear("mlp.dense_4h_to_h", hidden, ffn, s.Bias);
        var once = new LayoutBuilder("transformer.").Matrix("word_embeddings.weight", c.Vocab, hidden).Tensors;
        var tail = new LayoutBuilder().Norm("transformer.ln_f", hidden);
        if (!c.TieWordEmbeddings) tail.Matrix("lm_head.weight", c.Vocab, hidden);
        return new ModelFacts("falcon", new CheckpointLayout(once, [new(c.Layers, block.Tensors)], tail.Tensors),
            new ActivationShape(hidden, ffn, s.Heads, s.KvHeads, s.HeadDim, AttentionModulesPerBlock: 1,
                GatedFeedForward: false, SoftmaxInFloat32: false));
    }

    protected override void Forward(Tensor ids, Tensor mask, ActivationCapture capture)
    {
        var x = capture.Rec(Root.Of("transformer.word_embeddings"), transformer.word_embeddings.Apply(ids, ComputeDType));
        var (cos, sin) = rotary.Compute(DecoderOps.PositionIds(mask), ComputeDType);
        capture.Record(RotaryPoints[0], cos);
        capture.Record(RotaryPoints[1], sin);
        var allowed = DecoderOps.AllowedPairs(mask);
        var additive = EmulateReferenceBoolMaskBug ? allowed.to_type(ComputeDType) : DecoderOps.AdditiveMask(allowed, ComputeDType);
        for (var i = 0; i < layers; i++)
        {
            capture.Record(Fields.HiddenState(i), x);
            var (block, input, index) = (transformer.h[i], x, i);
            x = RunBlock(input, () => block.Forward(input, cos, sin, additive, capture, BlockSite(index)));
        }
        RecordTail(capture, "transformer.ln_f", layers, FinalNorm(x));
    }

    public override Tensor FinalNorm(Tensor residual) => transformer.ln_f.Apply(residual);

    public override Tensor Unembed(Tensor normalized) => lm_head?.Apply(normalized) ?? ComputeWeights.Linear(normalized, transformer.word_embeddings.Weight);
}

internal enum FalconNorms { OneParallel, TwoParallel, Sequential }

internal sealed record FalconShape(int Hidden, int Heads, int KvHeads, int HeadDim, int Ffn, double Eps, bool Bias,
    bool NewArchitecture, bool MultiQuery, FalconNorms Norms, string Activation)
{
    /// <summary>Output width of the fused query_key_value projection.</summary>
    public long FusedWidth => NewArchitecture ? (long)(Heads + 2 * KvHeads) * HeadDim
        : MultiQuery ? Hidden + 2L * HeadDim
        : 3L * Hidden;
}

/// <summary>A Falcon config.json, read and checked as transformers reads it.</summary>
internal sealed record FalconConfig(FalconShape Shape, int Layers, int Vocab, bool TieWordEmbeddings)
{
    public static FalconConfig From(JsonObject c)
    {
        if (c.Bool("alibi", false))
            throw new NotSupportedException("falcon with alibi=true (ALiBi positions, falcon-rw layout) is not supported; only rotary Falcon checkpoints are");
        var hidden = c.Size("hidden_size");
        var heads = c.SizeAny("num_attention_heads", "n_head");
        if (hidden % heads != 0) throw new ConfigValueException($"'hidden_size' {hidden} is not a multiple of 'num_attention_heads' {heads}");
        var newArch = c.Bool("new_decoder_architecture", false);
        var multiQuery = c.Bool("multi_query", true);
        var parallel = c.Bool("parallel_attn", true);
        var configKv = c.SizeOrNull("num_kv_heads", "n_head_kv") ?? heads;
        // Key/value heads: grouped in the new architecture, one for multi-query, one per query head otherwise.
        var kvHeads = newArch ? configKv : multiQuery ? 1 : heads;
        if (heads % kvHeads != 0)
            throw new ConfigValueException($"'num_attention_heads' {heads} is not a multiple of 'num_kv_heads' {kvHeads}");
        var lnCount = c.SizeOrNull("num_ln_in_parallel_attn") ?? (newArch ? 2 : 1);
        var norms = (parallel, newArch, lnCount) switch
        {
            (false, false, _) => FalconNorms.Sequential,
            (false, true, _) => throw new NotSupportedException("falcon: new_decoder_architecture needs parallel_attn=true"),
            (true, true, 2) => FalconNorms.TwoParallel,
            (true, _, 1) => FalconNorms.OneParallel,
            _ => throw new NotSupportedException($"falcon: num_ln_in_parallel_attn={lnCount} is not supported with new_decoder_architecture={newArch}"),
        };
        var ffn = c.SizeOrNull("ffn_hidden_size") ?? (int)Math.Min(int.MaxValue, 4L * hidden);
        var shape = new FalconShape(hidden, heads, kvHeads, hidden / heads, ffn, c.Double("layer_norm_epsilon", 1e-5),
            c.Bool("bias", false), newArch, multiQuery, norms, DecoderOps.CheckActivation(c.Str("activation", "gelu"), "falcon"));
        return new FalconConfig(shape, c.SizeAny("num_hidden_layers", "n_layer"), c.Size("vocab_size"), c.Bool("tie_word_embeddings", true));
    }
}

internal sealed class FalconBody : nn.Module
{
    public readonly EmbeddingTable word_embeddings;
    public readonly ModuleList<FalconBlock> h;
    public readonly LayerNormMap ln_f;

    public FalconBody(int vocab, int count, FalconShape s, ScalarType dtype, Device device) : base(nameof(FalconBody))
    {
        word_embeddings = new EmbeddingTable(vocab, s.Hidden, dtype, device);
        h = new ModuleList<FalconBlock>(Enumerable.Range(0, count).Select(_ => new FalconBlock(s, dtype, device)).ToArray());
        ln_f = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        RegisterComponents();
    }
}

internal sealed class FalconBlock : nn.Module
{
    private readonly LayerNormMap? input_layernorm;
    private readonly LayerNormMap? post_attention_layernorm;
    private readonly LayerNormMap? ln_attn;
    private readonly LayerNormMap? ln_mlp;
    private readonly FalconAttention self_attention;
    private readonly FalconMlp mlp;
    private readonly FalconNorms norms;

    public FalconBlock(FalconShape s, ScalarType dtype, Device device) : base(nameof(FalconBlock))
    {
        norms = s.Norms;
        if (norms == FalconNorms.TwoParallel)
        {
            ln_attn = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
            ln_mlp = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        }
        else input_layernorm = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        if (norms == FalconNorms.Sequential) post_attention_layernorm = new LayerNormMap(s.Hidden, s.Eps, dtype, device);
        self_attention = new FalconAttention(s, dtype, device);
        mlp = new FalconMlp(s, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, ActivationCapture capture, CaptureSite at)
    {
        Tensor attnIn, mlpIn;
        if (norms == FalconNorms.TwoParallel)
        {
            attnIn = capture.Rec(at.Of("ln_attn"), ln_attn!.Apply(x));
            mlpIn = capture.Rec(at.Of("ln_mlp"), ln_mlp!.Apply(x));
        }
        else attnIn = mlpIn = capture.Rec(at.Of("input_layernorm"), input_layernorm!.Apply(x));

        var attention = at.Child("self_attention");
        var (attn, probs) = self_attention.Forward(attnIn, cos, sin, mask, capture, attention);
        capture.Record(attention.Item(0), attn);
        capture.Record(attention.Item(1), probs);
        capture.Record(DecoderModel.Fields.Attentions(at.Layer), probs);

        Tensor output;
        if (norms == FalconNorms.Sequential)
        {
            var residual = x.Add(attn);
            mlpIn = capture.Rec(at.Of("post_attention_layernorm"), post_attention_layernorm!.Apply(residual));
            output = residual.Add(capture.Rec(at.Of("mlp"), mlp.Forward(mlpIn, capture, at.Child("mlp"))));
        }
        else output = x.Add(capture.Rec(at.Of("mlp"), mlp.Forward(mlpIn, capture, at.Child("mlp"))).Add(attn));
        capture.Record(at.Item(0), output);
        capture.Record(at.Item(1), probs);
        return output;
    }

    /// <summary>What <see cref="Forward"/> records, in order, for the block layout <paramref name="norms"/>.</summary>
    public static IEnumerable<CapturePoint> Points(CaptureSite at, FalconNorms norms)
    {
        var (attention, mlp) = (at.Child("self_attention"), at.Child("mlp"));
        var points = norms == FalconNorms.TwoParallel ? new List<CapturePoint> { at.Of("ln_attn"), at.Of("ln_mlp") } : [at.Of("input_layernorm")];
        points.AddRange([attention.Part("query_key_value", CaptureKind.QueryKeyValue), .. DecoderOps.AttendPoints(attention), attention.Of("dense"),
            attention.Item(0), attention.Item(1), DecoderModel.Fields.Attentions(at.Layer)]);
        if (norms == FalconNorms.Sequential) points.Add(at.Of("post_attention_layernorm"));
        points.AddRange([mlp.Of("dense_h_to_4h"), mlp.Of("act"), mlp.Of("dense_4h_to_h"), mlp.Module, at.Item(0), at.Item(1)]);
        return points;
    }
}

internal sealed class FalconAttention : nn.Module
{
    private readonly LinearMap query_key_value;
    private readonly LinearMap dense;
    private readonly FalconShape s;

    public FalconAttention(FalconShape s, ScalarType dtype, Device device) : base(nameof(FalconAttention))
    {
        this.s = s;
        query_key_value = new LinearMap(s.Hidden, s.FusedWidth, s.Bias, dtype, device);
        dense = new LinearMap(s.Hidden, s.Hidden, s.Bias, dtype, device);
        RegisterComponents();
    }

    public (Tensor Output, Tensor Probs) Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, ActivationCapture capture, CaptureSite at)
    {
        var fused = capture.Rec(at.Part("query_key_value", CaptureKind.QueryKeyValue), query_key_value.Apply(x));
        var (b, n, d) = (fused.shape[0], fused.shape[1], (long)s.HeadDim);
        Tensor q, k, v; // [b, s, heads, d] each
        if (s.NewArchitecture)
        {
            // Per KV group: its query heads, then one key, then one value.
            var perGroup = s.Heads / s.KvHeads;
            var g = fused.view(b, n, s.KvHeads, perGroup + 2, d);
            q = g.narrow(3, 0, perGroup).reshape(b, n, s.Heads, d);
            k = g.select(3, perGroup);
            v = g.select(3, perGroup + 1);
        }
        else if (s.MultiQuery)
        {
            var g = fused.view(b, n, s.Heads + 2, d);
            q = g.narrow(2, 0, s.Heads);
            k = g.narrow(2, s.Heads, 1);
            v = g.narrow(2, s.Heads + 1, 1);
        }
        else
        {
            var g = fused.view(b, n, s.Heads, 3, d);
            (q, k, v) = (g.select(3, 0), g.select(3, 1), g.select(3, 2));
        }
        q = Rotary.Apply(q.transpose(1, 2), cos, sin);
        k = Rotary.Apply(k.transpose(1, 2), cos, sin);
        var (o, probs) = DecoderOps.Attend(q, k, v.transpose(1, 2), mask, 1.0 / Math.Sqrt(d), softmaxInFloat32: false, capture, at);
        return (capture.Rec(at.Of("dense"), dense.Apply(DecoderOps.MergeHeads(o))), probs);
    }
}

internal sealed class FalconMlp : nn.Module
{
    private readonly LinearMap dense_h_to_4h;
    private readonly LinearMap dense_4h_to_h;
    private readonly string activation;

    public FalconMlp(FalconShape s, ScalarType dtype, Device device) : base(nameof(FalconMlp))
    {
        activation = s.Activation;
        dense_h_to_4h = new LinearMap(s.Hidden, s.Ffn, s.Bias, dtype, device);
        dense_4h_to_h = new LinearMap(s.Ffn, s.Hidden, s.Bias, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, ActivationCapture capture, CaptureSite at)
    {
        var h = capture.Rec(at.Of("dense_h_to_4h"), dense_h_to_4h.Apply(x));
        h = capture.Rec(at.Of("act"), DecoderOps.Activation(activation, h));
        return capture.Rec(at.Of("dense_4h_to_h"), dense_4h_to_h.Apply(h));
    }
}
