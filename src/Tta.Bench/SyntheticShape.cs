using System.Text.Json.Nodes;

namespace Tta.Bench;

/// <summary>The kind of tokenizer a synthetic checkpoint gets: T5's Unigram with Metaspace, or a byte-level BPE.</summary>
public enum SyntheticTokenizerKind { Unigram, ByteLevelBpe }

/// <summary>
/// A published model's shape for <see cref="SyntheticCheckpoint"/>: its real config.json (as on the Hub), the dtype
/// its weights are stored in, the shard size its checkpoint was saved with (Hugging Face's greedy split at
/// <c>max_shard_size</c>; 0 = one file), the config keys that hold its layer counts and its tokenizer's kind and size.
/// </summary>
public sealed record SyntheticShape(string Name, string ConfigJson, string DType, long MaxShardBytes, string[] LayerKeys,
    SyntheticTokenizerKind Tokenizer, int TokenizerVocab)
{
    public JsonObject Config => JsonNode.Parse(ConfigJson)!.AsObject();

    private const long TenGB = 10_000_000_000;

    private const string FlanT5 = """
        {"architectures": ["T5ForConditionalGeneration"], "d_ff": DFF, "d_kv": 64, "d_model": DMODEL, "decoder_start_token_id": 0,
         "dense_act_fn": "gelu_new", "dropout_rate": 0.1, "eos_token_id": 1, "feed_forward_proj": "gated-gelu",
         "initializer_factor": 1.0, "is_encoder_decoder": true, "is_gated_act": true, "layer_norm_epsilon": 1e-06,
         "model_type": "t5", "n_positions": 512, "num_decoder_layers": LAYERS, "num_heads": HEADS, "num_layers": LAYERS,
         "output_past": true, "pad_token_id": 0, "relative_attention_max_distance": 128, "relative_attention_num_buckets": 32,
         "tie_word_embeddings": false, "torch_dtype": "float32", "transformers_version": "4.23.1", "use_cache": true,
         "vocab_size": 32128}
        """;

    private static string Flan(int dff, int dmodel, int heads, int layers) => FlanT5.Replace("DFF", $"{dff}").Replace("DMODEL", $"{dmodel}")
        .Replace("HEADS", $"{heads}").Replace("LAYERS", $"{layers}");

    private const string Llama = """
        {"architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": HIDDEN,
         "initializer_range": 0.02, "intermediate_size": INTER, "max_position_embeddings": POSITIONS, "model_type": "llama",
         "num_attention_heads": 32, "num_hidden_layers": LAYERS, "num_key_value_heads": KV, "pretraining_tp": 1,
         "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0, "tie_word_embeddings": false,
         "torch_dtype": "DTYPE", "use_cache": true, "vocab_size": 32000}
        """;

    private static string LlamaOf(int hidden, int inter, int positions, int layers, int kv, string dtype) => Llama
        .Replace("HIDDEN", $"{hidden}").Replace("INTER", $"{inter}").Replace("POSITIONS", $"{positions}")
        .Replace("LAYERS", $"{layers}").Replace("KV", $"{kv}").Replace("DTYPE", dtype);

    /// <summary>The shapes of the paper's models and two Llama shapes (Llama-2-7b: multi-head; TinyLlama-1.1B: grouped-query).</summary>
    public static readonly IReadOnlyList<SyntheticShape> All =
    [
        new("t5-base", """
            {"architectures": ["T5ForConditionalGeneration"], "d_ff": 3072, "d_kv": 64, "d_model": 768, "decoder_start_token_id": 0,
             "dropout_rate": 0.1, "eos_token_id": 1, "initializer_factor": 1.0, "is_encoder_decoder": true,
             "layer_norm_epsilon": 1e-06, "model_type": "t5", "n_positions": 512, "num_heads": 12, "num_layers": 12,
             "output_past": true, "pad_token_id": 0, "relative_attention_num_buckets": 32, "vocab_size": 32128}
            """, "float32", 0, ["num_layers", "num_decoder_layers"], SyntheticTokenizerKind.Unigram, 32100),
        new("flan-t5-base", Flan(2048, 768, 12, 12), "float32", 0, ["num_layers", "num_decoder_layers"], SyntheticTokenizerKind.Unigram, 32100),
        new("flan-t5-xl", Flan(5120, 2048, 32, 24), "float32", TenGB, ["num_layers", "num_decoder_layers"], SyntheticTokenizerKind.Unigram, 32100),
        new("falcon-7b", """
            {"alibi": false, "apply_residual_connection_post_layernorm": false, "architectures": ["FalconForCausalLM"],
             "attention_dropout": 0.0, "bias": false, "bos_token_id": 11, "eos_token_id": 11, "hidden_dropout": 0.0,
             "hidden_size": 4544, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "falcon",
             "multi_query": true, "new_decoder_architecture": false, "num_attention_heads": 71, "num_hidden_layers": 32,
             "parallel_attn": true, "torch_dtype": "bfloat16", "transformers_version": "4.27.4", "use_cache": true,
             "vocab_size": 65024}
            """, "bfloat16", TenGB, ["num_hidden_layers"], SyntheticTokenizerKind.ByteLevelBpe, 65024),
        new("llama-2-7b", LlamaOf(4096, 11008, 4096, 32, 32, "float16"), "float16", TenGB, ["num_hidden_layers"], SyntheticTokenizerKind.ByteLevelBpe, 32000),
        new("tinyllama-1.1b", LlamaOf(2048, 5632, 2048, 22, 4, "bfloat16"), "bfloat16", 0, ["num_hidden_layers"], SyntheticTokenizerKind.ByteLevelBpe, 32000),
    ];

    public static SyntheticShape Named(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"unknown shape '{name}'; shapes: {string.Join(", ", All.Select(s => s.Name))}");
}
