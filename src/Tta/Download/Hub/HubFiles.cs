using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tta.Download.Hub;

/// <summary>Which files of a repository a model needs.</summary>
internal static partial class HubFiles
{
    public const string Config = "config.json";

    /// <summary>Weight formats in order of preference: one file, else an index naming shards.</summary>
    public static readonly (string Single, string Index)[] WeightFormats =
    [
        ("model.safetensors", "model.safetensors.index.json"),
        ("pytorch_model.bin", "pytorch_model.bin.index.json"),
    ];

    /// <summary>Files that describe a tokenizer's vocabulary (at least one is needed to tokenize).</summary>
    public static readonly string[] TokenizerModels = ["tokenizer.json", "spiece.model", "tokenizer.model", "vocab.txt", "vocab.json"];

    /// <summary>Fetched when the repository has them.</summary>
    public static readonly string[] Optional =
    [
        "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "spiece.model", "tokenizer.model", "vocab.txt", "merges.txt", "vocab.json",
    ];

    /// <summary>The distinct shard files of a sharded checkpoint index (<c>{"weight_map": {tensor: file}}</c>).</summary>
    public static IReadOnlyList<string> ShardsOf(byte[] indexJson, string indexName)
    {
        try
        {
            using var doc = JsonDocument.Parse(indexJson);
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new HubException(HubErrorKind.BadResponse, $"{indexName} has no \"weight_map\" object");
            var shards = new List<string>();
            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.GetString() ?? throw new HubException(HubErrorKind.BadResponse, $"{indexName}: weight_map value for {entry.Name} is not a string");
                CheckRelativePath(file, indexName);
                if (!shards.Contains(file, StringComparer.Ordinal)) shards.Add(file);
            }
            if (shards.Count == 0) throw new HubException(HubErrorKind.BadResponse, $"{indexName} lists no shard files");
            return shards;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new HubException(HubErrorKind.BadResponse, $"{indexName} is not a valid checkpoint index: {e.Message}", e);
        }
    }

    /// <summary>Rejects names that could leave the snapshot folder (absolute, <c>..</c>, backslashes, empty parts).</summary>
    public static void CheckRelativePath(string file, string source)
    {
        var bad = file.Length == 0 || file.Length > 1000 || file.StartsWith('/') || file.Contains('\\') || file.Contains('\0')
            || file.Split('/').Any(p => p is "" or "." or "..");
        if (bad) throw new HubException(HubErrorKind.BadResponse, $"{source}: unsafe file name '{file}'");
    }

    /// <summary>Repository ids as the Hub accepts them: <c>name</c> or <c>org/name</c>.</summary>
    public static void CheckRepoId(string repoId)
    {
        var ok = repoId.Length is > 0 and <= 96 && RepoIdPattern().IsMatch(repoId)
            && !repoId.Contains("--", StringComparison.Ordinal) && !repoId.Contains("..", StringComparison.Ordinal);
        if (!ok)
            throw new ArgumentException($"'{repoId}' is not a Hugging Face repository id (expected 'org/name' with letters, digits, '-', '_', '.')", nameof(repoId));
    }

    public static void CheckRevision(string revision)
    {
        var bad = revision.Length is 0 or > 256 || revision.StartsWith('/') || revision.Contains('\\') || revision.Contains('\0')
            || revision.Split('/').Any(p => p is "" or "." or "..");
        if (bad) throw new ArgumentException($"'{revision}' is not a valid revision (branch, tag or commit sha)", nameof(revision));
    }

    [GeneratedRegex(@"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")]
    private static partial Regex RepoIdPattern();
}
