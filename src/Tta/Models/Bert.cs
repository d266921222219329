using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>Hyper-parameters of a BERT encoder, read from a Hugging Face config.json.</summary>
public sealed record BertConfig(
    int HiddenSize, int NumLayers, int NumHeads, int IntermediateSize, int VocabSize, int MaxPositions,
    int TypeVocabSize, double LayerNormEps, string HiddenAct)
{
    public int HeadDim => HiddenSize / NumHeads;

    public static BertConfig FromJson(JsonObject c)
    {
        var cfg = new BertConfig(
            c.Size("hidden_size"), c.Size("num_hidden_layers"), c.Size("num_attention_heads"), c.Size("intermediate_size"),
            c.Size("vocab_size"), c.Size("max_position_embeddings", 512), c.Size("type_vocab_size", 2),
            c.Double("layer_norm_eps", 1e-12), c.Str("hidden_act", "gelu"));
        if (cfg.HiddenSize % cfg.NumHeads != 0)
            throw new ConfigValueException($"'hidden_size' {cfg.HiddenSize} is not a multiple of 'num_attention_heads' {cfg.NumHeads}");
        var position = c.Str("position_embedding_type", "absolute");
        if (position != "absolute")
            throw new NotSupportedException($"config.json: position_embedding_type '{position}' is not supported (only 'absolute')");
        if (c.Bool("is_decoder", false) || c.Bool("add_cross_attention", false))
            throw new NotSupportedException("config.json: BERT as a decoder (is_decoder / add_cross_attention) is not supported");
        DecoderOps.CheckActivation(cfg.HiddenAct, "bert"); // fail early on an unknown activation
        return cfg;
    }
}

/// <summary>
/// BERT encoder (Hugging Face <c>BertModel</c>): word + position + token-type embeddings, post-LN transformer layers
/// with absolute positions, optional pooler. Module and parameter names equal the checkpoint keys.
/// </summary>
public sealed class Bert : ITransformerModel
{
    private readonly BertModel model;
    private readonly BertConfig cfg;
    private readonly Device device;
    private readonly ScalarType compute;

    public JsonObject Config { get; }
    public BertConfig Hyper => cfg;
    IArchitecture ITransformerModel.Architecture => Architecture.Instance;

    /// <summary>BERT's facts: one encoder stack, <c>embeddings.word_embeddings</c>, per-head query·key / √d_head.</summary>
    public sealed class Architecture : IArchitecture
    {
        public static readonly Architecture Instance = new();

        public string ModelType => "bert";
        public IReadOnlyList<string> Stacks { get; } = ["encoder"];
        // The additive attention mask (Run) keeps right padding out of every real token's activations.
        public bool SupportsBatches => true;
        public ITransformerModel Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device) =>
            Bert.Load(checkpoint, dtype, compute, device);
        public ModelFacts Facts(JsonObject config) => Bert.Facts(config);

        // BertForMaskedLM / BertForPreTraining checkpoints keep the encoder under "bert.".
        public IReadOnlyList<string> InputEmbeddingKeys { get; } = ["embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight"];

        public IEnumerable<CapturePoint> CapturePoints(JsonObject config) => Points(BertConfig.FromJson(config).NumLayers);

        private static IEnumerable<CapturePoint> Points(int layers)
        {
            var embeddings = Root.Child("embeddings");
            CapturePoint[] first =
            [
                embeddings.Of("word_embeddings"), embeddings.Of("token_type_embeddings"), embeddings.Of("position_embeddings"),
                embeddings.Of("LayerNorm"), embeddings.Module, Fields.HiddenState(0),
            ];
            foreach (var p in first) yield return p;
            for (var i = 0; i < layers; i++)
            {
                var at = LayerSite(i);
                var (attention, intermediate, output) = (at.Child("attention"), at.Child("intermediate"), at.Child("output"));
                var (self, selfOutput) = (attention.Child("self"), attention.Child("output"));
                CapturePoint[] block =
                [
                    self.Part("query", CaptureKind.Query), self.Part("key", CaptureKind.Key), self.Part("value", CaptureKind.Value),
                    self.Part("scores", CaptureKind.AttentionScores), self.Part("probs", CaptureKind.AttentionProbs), self.Item(0), self.Item(1),
                    selfOutput.Of("dense"), selfOutput.Of("LayerNorm"), selfOutput.Module, attention.Item(0), attention.Item(1),
                    intermediate.Of("dense"), intermediate.Of("intermediate_act_fn"), intermediate.Module,
                    output.Of("dense"), output.Of("LayerNorm"), output.Module, at.Module, Fields.HiddenState(i + 1), Fields.Attentions(i),
                ];
                foreach (var p in block) yield return p;
            }
            var pooler = Root.Child("pooler");
            yield return Fields.Output("last_hidden_state");
            yield return pooler.Of("dense"); // the pooler, when the checkpoint has one
            yield return pooler.Module;
        }

        public IReadOnlySet<CaptureKind> QueryKeyKinds { get; } = new HashSet<CaptureKind> { CaptureKind.Query, CaptureKind.Key };

        public QueryKeyTerms? QueryKey(ActivationCapture capture, CapturePoint scores, int heads, JsonObject config)
        {
            if (capture.Find(scores.Path, CaptureKind.Query) is not { } q || capture.Find(scores.Path, CaptureKind.Key) is not { } k) return null;
            return new QueryKeyTerms(q[0], k[0], heads, heads, Math.Pow(q.shape[^1] / heads, -0.5));
        }
    }

    private static readonly CaptureSite Root = CaptureSite.Root("encoder");
    private static readonly OutputFields Fields = new("encoder");

    private static CaptureSite LayerSite(int i) => Root.Child("encoder.layer").Block(i);

    private Bert(JsonObject config, BertConfig cfg, BertModel model, ScalarType compute, Device device)
    {
        Config = config;
        this.cfg = cfg;
        this.model = model;
        this.compute = compute;
        this.device = device;
    }

    /// <summary>The checkpoint layout and activation sizes of a BERT config (validated, nothing allocated).</summary>
    public static ModelFacts Facts(JsonObject config)
    {
        var c = BertConfig.FromJson(config);
        long d = c.HiddenSize, ff = c.IntermediateSize;
        var block = new LayoutBuilder("encoder.layer.{i}.")
            .Linear("attention.self.query", d, d, bias: true).Linear("attention.self.key", d, d, bias: true)
            .Linear("attention.self.value", d, d, bias: true).Linear("attention.output.dense", d, d, bias: true)
            .Norm("attention.output.LayerNorm", d).Linear("intermediate.dense", ff, d, bias: true)
            .Linear("output.dense", d, ff, bias: true).Norm("output.LayerNorm", d);
        var once = new LayoutBuilder("embeddings.").Matrix("word_embeddings.weight", c.VocabSize, d)
            .Matrix("position_embeddings.weight", c.MaxPositions, d).Matrix("token_type_embeddings.weight", c.TypeVocabSize, d)
            .Norm("LayerNorm", d);
        // The pooler (pooler.dense) is optional: loaded when a checkpoint has one, and left out here (d² + d parameters).
        return new ModelFacts("bert", new CheckpointLayout(once.Tensors, [new(c.NumLayers, block.Tensors)]),
            new ActivationShape(d, ff, c.NumHeads, c.NumHeads, c.HeadDim, AttentionModulesPerBlock: 1,
                GatedFeedForward: false, SoftmaxInFloat32: false));
    }

    /// <summary>The encoder with its weights in <paramref name="dtype"/>, computing in <paramref name="compute"/> (see <see cref="ComputeDTypes"/>).</summary>
    public static Bert Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device = null)
    {
        ComputeDTypes.Check("bert", dtype, compute);
        var cfg = BertConfig.FromJson(checkpoint.Config);
        // BertForMaskedLM / BertForPreTraining checkpoints keep the encoder under "bert."; heads are ignored.
        var prefix = checkpoint.Contains("embeddings.word_embeddings.weight") ? ""
            : checkpoint.Contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
        var withPooler = checkpoint.Contains(prefix + "pooler.dense.weight");
        device ??= CPU;
        var model = new BertModel(cfg, withPooler, dtype, device); // uninitialised, on the device: every weight is loaded
        try
        {
            checkpoint.LoadInto(model, name => prefix + name);
            model.eval();
            return new Bert(checkpoint.Config, cfg, model, compute, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Run(ModelInputs inputs, ActivationCapture capture)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var ids = inputs.InputIds.to(ScalarType.Int64, device);
        if (ids.dim() != 2) throw new ArgumentException($"input_ids must be [batch, seq], got [{string.Join(", ", ids.shape)}]");
        var seq = ids.shape[1];
        if (seq > cfg.MaxPositions)
            throw new ArgumentException($"sequence of {seq} tokens is longer than max_position_embeddings {cfg.MaxPositions}");
        var mask = inputs.AttentionMask.to(ScalarType.Int64, device);
        var types = inputs.TokenTypeIds?.to(ScalarType.Int64, device) ?? zeros_like(ids);

        var e = model.embeddings;
        var embeddings = Root.Child("embeddings");
        var words = e.word_embeddings.Apply(ids, compute);
        capture.Record(embeddings.Of("word_embeddings"), words);
        var tokenTypes = e.token_type_embeddings.Apply(types, compute);
        capture.Record(embeddings.Of("token_type_embeddings"), tokenTypes);
        var positionIds = ScalarOps.Arange(seq, ScalarType.Int64, device).unsqueeze(0);
        var positions = e.position_embeddings.Apply(positionIds, compute);
        capture.Record(embeddings.Of("position_embeddings"), positions);
        var hidden = e.LayerNorm.Apply(words.Add(tokenTypes).Add(positions));
        capture.Record(embeddings.Of("LayerNorm"), hidden);
        capture.Record(embeddings.Module, hidden);
        capture.Record(Fields.HiddenState(0), hidden);

        // Additive mask [batch, 1, 1, key]: 0 where attended, the compute dtype's lowest value at padding (as transformers).
        var additive = mask.Eq(0).to(compute).Mul(finfo(compute).min).unsqueeze(1).unsqueeze(1);

        for (var i = 0; i < cfg.NumLayers; i++)
        {
            using var layerScope = NewDisposeScope();
            var layer = model.encoder.layer[i];
            var at = LayerSite(i);
            var (attention, intermediate) = (at.Child("attention"), at.Child("intermediate"));
            var self = attention.Child("self");
            var probs = layer.attention.self.Attend(hidden, additive, cfg, self, capture, out var context);
            capture.Record(self.Item(0), context);
            capture.Record(self.Item(1), probs);
            var attended = layer.attention.output.Apply(context, hidden, attention.Child("output"), capture);
            capture.Record(attention.Item(0), attended);
            capture.Record(attention.Item(1), probs);
            var inner = layer.intermediate.dense.Apply(attended);
            capture.Record(intermediate.Of("dense"), inner);
            inner = layer.intermediate.Act(inner);
            capture.Record(intermediate.Of("intermediate_act_fn"), inner);
            capture.Record(intermediate.Module, inner);
            var output = layer.output.Apply(inner, attended, at.Child("output"), capture);
            capture.Record(at.Module, output);
            capture.Record(Fields.HiddenState(i + 1), output);
            capture.Record(Fields.Attentions(i), probs);
            var previous = hidden;
            hidden = output.MoveToOuterDisposeScope();
            previous.Dispose(); // copied by the capture already; only the running hidden state leaves a layer
        }
        capture.Record(Fields.Output("last_hidden_state"), hidden);
        var poolerSite = Root.Child("pooler");
        if (model.pooler is { } pooler && (capture.Wants(poolerSite.Of("dense")) || capture.Wants(poolerSite.Module)))
        {
            var dense = pooler.dense.Apply(hidden.select(1, 0));
            capture.Record(poolerSite.Of("dense"), dense);
            capture.Record(poolerSite.Module, dense.tanh());
        }
    }

    public void Dispose() => model.Dispose();

    // Module tree; field names are the Hugging Face module names, so parameter names equal checkpoint keys.
#pragma warning disable IDE1006 // names follow the checkpoint
    private sealed class BertModel : nn.Module
    {
        public readonly BertEmbeddings embeddings;
        public readonly BertEncoder encoder;
        public readonly BertPooler? pooler;

        public BertModel(BertConfig c, bool withPooler, ScalarType dtype, Device device) : base("BertModel")
        {
            embeddings = new BertEmbeddings(c, dtype, device);
            encoder = new BertEncoder(c, dtype, device);
            if (withPooler) pooler = new BertPooler(c, dtype, device);
            RegisterComponents();
        }
    }

    private sealed class BertEmbeddings : nn.Module
    {
        public readonly EmbeddingTable word_embeddings, position_embeddings, token_type_embeddings;
        public readonly LayerNormMap LayerNorm;

        public BertEmbeddings(BertConfig c, ScalarType dtype, Device device) : base("BertEmbeddings")
        {
            word_embeddings = new EmbeddingTable(c.VocabSize, c.HiddenSize, dtype, device);
            position_embeddings = new EmbeddingTable(c.MaxPositions, c.HiddenSize, dtype, device);
            token_type_embeddings = new EmbeddingTable(c.TypeVocabSize, c.HiddenSize, dtype, device);
            LayerNorm = new LayerNormMap(c.HiddenSize, c.LayerNormEps, dtype, device);
            RegisterComponents();
        }
    }

    private sealed class BertEncoder : nn.Module
    {
        public readonly ModuleList<BertLayer> layer;

        public BertEncoder(BertConfig c, ScalarType dtype, Device device) : base("BertEncoder")
        {
            layer = nn.ModuleList(Enumerable.Range(0, c.NumLayers).Select(_ => new BertLayer(c, dtype, device)).ToArray());
            RegisterComponents();
        }
    }

    private sealed class BertLayer : nn.Module
    {
        public readonly BertAttention attention;
        public readonly BertIntermediate intermediate;
        public readonly BertOutput output;

        public BertLayer(BertConfig c, ScalarType dtype, Device device) : base("BertLayer")
        {
            attention = new BertAttention(c, dtype, device);
            intermediate = new BertIntermediate(c, dtype, device);
            output = new BertOutput(c.IntermediateSize, c, dtype, device);
            RegisterComponents();
        }
    }

    private sealed class BertAttention : nn.Module
    {
        public readonly BertSelfAttention self;
        public readonly BertOutput output;

        public BertAttention(BertConfig c, ScalarType dtype, Device device) : base("BertAttention")
        {
            self = new BertSelfAttention(c, dtype, device);
            output = new BertOutput(c.HiddenSize, c, dtype, device);
            RegisterComponents();
        }
    }

    private sealed class BertSelfAttention : nn.Module
    {
        public readonly LinearMap query, key, value;

        public BertSelfAttention(BertConfig c, ScalarType dtype, Device device) : base("BertSelfAttention")
        {
            query = new LinearMap(c.HiddenSize, c.HiddenSize, true, dtype, device);
            key = new LinearMap(c.HiddenSize, c.HiddenSize, true, dtype, device);
            value = new LinearMap(c.HiddenSize, c.HiddenSize, true, dtype, device);
            RegisterComponents();
        }

        /// <summary>Scaled dot-product attention; returns the probabilities, the merged context in <paramref name="context"/>.</summary>
        public Tensor Attend(Tensor hidden, Tensor additiveMask, BertConfig c, CaptureSite at, ActivationCapture capture, out Tensor context)
        {
            var (b, t) = (hidden.shape[0], hidden.shape[1]);
            var q = query.Apply(hidden);
            capture.Record(at.Part("query", CaptureKind.Query), q);
            var k = key.Apply(hidden);
            capture.Record(at.Part("key", CaptureKind.Key), k);
            var v = value.Apply(hidden);
            capture.Record(at.Part("value", CaptureKind.Value), v);
            Tensor Heads(Tensor x) => x.view(b, t, c.NumHeads, c.HeadDim).transpose(1, 2);
            var scores = matmul(Heads(q), Heads(k).transpose(-1, -2)).MulInPlace(Math.Pow(c.HeadDim, -0.5));
            scores.AddInPlace(additiveMask);
            capture.Record(at.Part("scores", CaptureKind.AttentionScores), scores);
            var probs = scores.softmax(-1);
            capture.Record(at.Part("probs", CaptureKind.AttentionProbs), probs);
            context = matmul(probs, Heads(v)).transpose(1, 2).reshape(b, t, c.HiddenSize);
            return probs;
        }
    }

    /// <summary>BertSelfOutput / BertOutput: dense, then LayerNorm of (dense + residual).</summary>
    private sealed class BertOutput : nn.Module
    {
        public readonly LinearMap dense;
        public readonly LayerNormMap LayerNorm;

        public BertOutput(int inputSize, BertConfig c, ScalarType dtype, Device device) : base("BertOutput")
        {
            dense = new LinearMap(inputSize, c.HiddenSize, true, dtype, device);
            LayerNorm = new LayerNormMap(c.HiddenSize, c.LayerNormEps, dtype, device);
            RegisterComponents();
        }

        public Tensor Apply(Tensor x, Tensor residual, CaptureSite at, ActivationCapture capture)
        {
            var d = dense.Apply(x);
            capture.Record(at.Of("dense"), d);
            var y = LayerNorm.Apply(d.Add(residual));
            capture.Record(at.Of("LayerNorm"), y);
            capture.Record(at.Module, y);
            return y;
        }
    }

    private sealed class BertIntermediate : nn.Module
    {
        public readonly LinearMap dense;
        public readonly Func<Tensor, Tensor> Act;

        public BertIntermediate(BertConfig c, ScalarType dtype, Device device) : base("BertIntermediate")
        {
            dense = new LinearMap(c.HiddenSize, c.IntermediateSize, true, dtype, device);
            var act = c.HiddenAct;
            Act = x => DecoderOps.Activation(act, x);
            RegisterComponents();
        }
    }

    private sealed class BertPooler : nn.Module
    {
        public readonly LinearMap dense;

        public BertPooler(BertConfig c, ScalarType dtype, Device device) : base("BertPooler")
        {
            dense = new LinearMap(c.HiddenSize, c.HiddenSize, true, dtype, device);
            RegisterComponents();
        }
    }
#pragma warning restore IDE1006
}
