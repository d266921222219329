using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tta.Archive;

/// <summary>
/// What must never leave the machine in an archive: Hugging Face tokens (from the environment) and absolute paths of
/// the workspace root and the home folder. Text members (JSON, YAML, texts) are rewritten: the root becomes
/// <c>.</c> (so paths turn relative to the project), the experiment's folder <c>experiment</c> (its name
/// in the archive), the home folder <c>~</c>, a token <c>[redacted]</c>. Members
/// that cannot be rewritten (Parquet, images) are only checked, and refused if they contain any of these.
/// </summary>
public sealed class Redaction
{
    public const string TokenMarker = "[redacted]";

    /// <summary>Environment variables that may hold a Hugging Face token.</summary>
    public static readonly IReadOnlyList<string> TokenVariables = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_TOKEN"];

    private readonly List<(string Find, string Replace, string What)> rules = [];

    /// <param name="folders">More absolute folders to replace, e.g. the experiment folder by its archive name.</param>
    public Redaction(string root, string? home, IEnumerable<string?> tokens, IEnumerable<(string Folder, string Replacement)>? folders = null)
    {
        foreach (var t in tokens.Where(t => !string.IsNullOrWhiteSpace(t) && t.Trim().Length >= 4).Select(t => t!.Trim()).Distinct())
            rules.Add((t, TokenMarker, "a Hugging Face token"));
        // Longest first: the root is usually inside the home folder.
        var paths = new List<(string, string, string)>();
        foreach (var (folder, replacement) in folders ?? [])
            if (IsSpecific(folder)) paths.Add((Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)), replacement, $"the absolute path of {replacement}"));
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (IsSpecific(root)) paths.Add((root, ".", "the absolute path of the project root"));
        if (home is not null && IsSpecific(home))
            paths.Add((Path.TrimEndingDirectorySeparator(home), "~", "the absolute path of the home folder"));
        rules.AddRange(paths.OrderByDescending(p => p.Item1.Length));
    }

    /// <summary>The redaction for this process: its environment's tokens and $HOME.</summary>
    public static Redaction ForEnvironment(string root, IEnumerable<(string Folder, string Replacement)>? folders = null) =>
        new(root, Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
            TokenVariables.Select(Environment.GetEnvironmentVariable), folders);

    /// <summary>A path worth hiding: not "/", not a bare drive or a one-letter folder that would match anywhere.</summary>
    private static bool IsSpecific(string path)
    {
        var trimmed = Path.TrimEndingDirectorySeparator(path);
        return Path.IsPathRooted(trimmed) && trimmed.Length >= 4 && trimmed != Path.GetPathRoot(trimmed);
    }

    public string Rewrite(string text)
    {
        foreach (var (find, replace, what) in rules)
            text = replace == TokenMarker
                ? text.Replace(find, replace, StringComparison.Ordinal)
                // A folder only where a path continues or ends (not "/data/run" inside "/data/run2").
                : Regex.Replace(text, Regex.Escape(find) + @"(?![\p{L}\p{N}._-])", replace.Replace("$", "$$", StringComparison.Ordinal));
        return text;
    }

    /// <summary>Rewrites every string (values and property names) of a JSON document and writes it unescaped.</summary>
    public JsonNode? Rewrite(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (k, v) in o) copy[Rewrite(k)] = Rewrite(v);
                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(Rewrite)]);
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return JsonValue.Create(Rewrite(v.GetValue<string>()));
            default:
                return node?.DeepClone();
        }
    }

    /// <summary>What of the forbidden strings <paramref name="bytes"/> contains (UTF-8), for an error message.</summary>
    public IEnumerable<string> Findings(ReadOnlySpan<byte> bytes)
    {
        var found = new List<string>();
        foreach (var (find, replace, what) in rules)
        {
            var pattern = Encoding.UTF8.GetBytes(find);
            for (int from = 0, at; (at = bytes[from..].IndexOf(pattern)) >= 0; from += at + 1)
            {
                var next = from + at + pattern.Length;
                // Folders count where the path continues or ends, as in Rewrite (bytes >= 0x80 belong to a name).
                if (replace == TokenMarker || next >= bytes.Length || !(char.IsAsciiLetterOrDigit((char)bytes[next]) || bytes[next] is (byte)'.' or (byte)'_' or (byte)'-' or >= 0x80))
                {
                    found.Add(what);
                    break;
                }
            }
        }
        return found;
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // Paths and non-ASCII text stay readable and scannable (no \u escapes hiding a path from the checks).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] ToBytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString(Json) + "\n");
}
