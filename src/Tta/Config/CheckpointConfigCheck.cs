using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tta.Config;

/// <summary>
/// Checks a checkpoint's config.json before any model code reads it, so a bad value is reported with the file, the
/// line and the key instead of a conversion error or a libtorch message: sizes and counts must be whole numbers that
/// fit (0..2³¹−1) and must not be negative.
/// </summary>
public static partial class CheckpointConfigCheck
{
    // Keys that are sizes or counts in the configs of transformers' models (vocab_size, hidden_size, num_heads,
    // n_layer, d_kv, intermediate_size, max_position_embeddings, num_key_value_heads, …).
    [GeneratedRegex(@"(^|_)(size|dim|layers?|heads?|positions?|embeddings|buckets|experts|kv|ff|model|inner|ctx|embd|head|channels)$|^(num|n|d)_")]
    private static partial Regex SizeKey();

    /// <summary>Parses and checks <paramref name="path"/>; returns the config.</summary>
    public static JsonObject Load(string path)
    {
        var text = File.ReadAllText(path);
        JsonObject config;
        try
        {
            config = JsonNode.Parse(text)?.AsObject() ?? throw new ConfigException(new SourceSpan(path, 1, 1), "config.json is empty — it must be a JSON object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ConfigException(new SourceSpan(path, 1, 1), $"config.json is not a JSON object ({e.Message}) — restore the checkpoint's config.json");
        }
        foreach (var (key, node) in config)
        {
            if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !SizeKey().IsMatch(key)) continue;
            var number = value.GetValue<double>();
            string? problem = null;
            if (number != Math.Floor(number)) problem = $"'{key}' is {value.ToJsonString()}, not a whole number";
            else if (number > int.MaxValue) problem = $"'{key}' is {value.ToJsonString()}, too large (at most {int.MaxValue})";
            else if (number < 0) problem = $"'{key}' is {value.ToJsonString()}, negative";
            if (problem is not null)
                throw new ConfigException(KeyPosition(path, text, key), $"{problem} — fix it in the checkpoint's config.json (sizes and counts are whole numbers ≥ 0)");
        }
        return config;
    }

    /// <summary>
    /// Checks the checkpoint's tokenizer against its config.json: every id the tokenizer can produce must index a row
    /// of the embedding matrix, i.e. lie below <c>vocab_size</c>. A tokenizer from another checkpoint would otherwise
    /// fail deep in Extract with an index error that names neither file. Skipped when the config has no
    /// <c>vocab_size</c> or the folder has no tokenizer this version reads (Extract reports that).
    /// </summary>
    public static void CheckTokenizer(string configPath, JsonObject config)
    {
        if (config["vocab_size"] is not JsonValue v || !v.TryGetValue<double>(out var size)) return;
        var dir = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        if (Tokenizers.TokenizerLoader.FileOf(dir) is not { } tokenizerFile) return;
        IReadOnlyList<string?> vocabulary;
        try
        {
            vocabulary = Tokenizers.TokenizerLoader.Load(dir).Vocabulary;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return; // a tokenizer this version cannot read (whatever the reason) is Extract's to report, with its own reason
        }
        var highest = vocabulary.Count - 1;
        while (highest >= 0 && vocabulary[highest] is null) highest--;
        if (highest < size) return;
        var name = Path.GetFileName(tokenizerFile);
        throw new ConfigException(KeyPosition(configPath, File.ReadAllText(configPath), "vocab_size"),
            $"'vocab_size' is {v.ToJsonString()}, but the tokenizer {tokenizerFile} has token ids up to {highest} " +
            $"('{vocabulary[highest]}'), so the model has no embedding for them — the tokenizer and config.json come from " +
            $"different checkpoints: put the model's own {name} next to its config.json (or, if its weights do have " +
            $"{highest + 1} or more embedding rows, set vocab_size to that number)");
    }

    private static SourceSpan KeyPosition(string path, string text, string key)
    {
        var at = text.IndexOf($"\"{key}\"", StringComparison.Ordinal);
        if (at < 0) return new SourceSpan(path, 1, 1);
        var line = 1 + text.AsSpan(0, at).Count('\n');
        var column = at - text.LastIndexOf('\n', Math.Max(0, at - 1));
        return new SourceSpan(path, line, column);
    }
}
