using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Tta.Core;
using YamlDotNet.RepresentationModel;

namespace Tta.Config;

public static partial class ExperimentLoader
{
    private static readonly string[] CorpusKeys = ["name", "corpus", "field", "column", "limit", "sample"];
    private static readonly string[] SampleKeys = ["n", "seed"];

    /// <summary>
    /// The rows a seeded sample of <paramref name="n"/> takes out of <paramref name="rows"/> (numbered 1..rows), in row
    /// order: each row is ranked by the first 8 bytes (big-endian) of SHA-256 of the UTF-8 text <c>"&lt;seed&gt;:&lt;row&gt;"</c>,
    /// and the <paramref name="n"/> lowest ranks are taken. The same on every machine and run; appending rows to the
    /// file keeps every earlier row's rank, so a sample changes only where a new row ranks lower.
    /// </summary>
    public static IReadOnlyList<int> SampleRows(int rows, int n, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        static ulong Rank(long seed, int row) =>
            BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}:{row}")));
        return [.. Enumerable.Range(1, rows).OrderBy(r => Rank(seed, r)).ThenBy(r => r).Take(n).Order()];
    }

    // A corpus entry of texts: (name:, corpus:, field: / column:, limit:, sample:).
    private sealed partial class Reader
    {
        private readonly List<CorpusSpec> corpora = [];

        private static bool IsCorpus(YamlNode item) =>
            item is YamlMappingNode map && map.Children.ContainsKey(new YamlScalarNode("corpus"));

        /// <summary>Adds the corpus's texts to <paramref name="texts"/>, each key checked against <paramref name="keys"/>.</summary>
        private void ReadCorpus(YamlNode item, List<TextSpec> texts, Dictionary<string, YamlNode> keys)
        {
            var where = "a corpus";
            var f = Fields(item, where, CorpusKeys);
            var nameNode = Required(f, item, "name", where, "add 'name: ...' (the prefix of its texts' keys, <name>-<row>)");
            var name = String(nameNode, "name");
            if (!IsValidKey(name))
                throw Error(nameNode, $"invalid corpus name '{name}'", "use letters, digits, '.', '_' and '-' only (it is used in file names)");
            if (corpora.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)) is { } same)
                throw Error(nameNode, $"duplicate corpus name '{name}' (first used at {same.At.Line}:{same.At.Column}; names ignore case)",
                    "give each corpus a different 'name:'");

            var pathNode = Required(f, item, "corpus", where, "give the corpus file, relative to this experiment file");
            var rel = NonEmpty(pathNode, "corpus", "give the corpus file, relative to this experiment file");
            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(_dir, rel));
            var extension = System.IO.Path.GetExtension(full).ToLowerInvariant();
            if (!CorpusFile.Extensions.Contains(extension))
                throw Error(pathNode, $"unknown corpus format '{System.IO.Path.GetExtension(full)}'",
                    $"use a file ending in one of: {List(CorpusFile.Extensions)}");
            if (Directory.Exists(full))
                throw Error(pathNode, $"corpus file is a folder: {full}", "point 'corpus' at a file");
            if (!File.Exists(full))
                throw Error(pathNode, $"corpus file not found: {full}", "fix 'corpus' (it is relative to this experiment file) or create the file");

            // The key that names the text: required for its format, refused for the others.
            var selectorKey = CorpusFile.SelectorKey(extension);
            string? selector = null;
            foreach (var key in new[] { "field", "column" })
            {
                if (!f.TryGetValue(key, out var entry)) continue;
                if (key != selectorKey)
                    throw Error(entry.Key, $"'{key}' is not for {extension} corpora",
                        selectorKey is null ? "remove it (each line of a .txt corpus is a text)" : $"name the text with '{selectorKey}:'");
                selector = NonEmpty(IsNull(entry.Value) ? entry.Key : entry.Value, key, $"name the {key} that holds the text");
            }
            if (selectorKey is not null && selector is null)
                throw Error(item, $"corpus '{name}' ({extension}) has no '{selectorKey}'",
                    $"add '{selectorKey}: <name>', the {(extension == ".jsonl" ? "string field of each object" : "column")} that holds the text");

            int? limit = null;
            if (f.TryGetValue("limit", out var l) && !IsNull(l.Value))
            {
                limit = Int(l.Value, "limit");
                if (limit <= 0) throw Error(l.Value, $"limit must be positive, got {limit}", "use a whole number ≥ 1, or remove it for every row");
            }
            (int N, long Seed, YamlNode Node)? sample = null;
            if (f.TryGetValue("sample", out var s) && !IsNull(s.Value))
            {
                if (limit is not null)
                    throw Error(s.Key, "a corpus has both 'limit' and 'sample'", "keep one: limit takes the first rows, sample a seeded choice of rows");
                var sf = Fields(s.Value, "'sample'", SampleKeys, "write 'sample: { n: 100, seed: 1 }'");
                var nNode = Required(sf, s.Value, "n", "'sample'", "add 'n: <rows>'");
                var n = Int(nNode, "sample.n");
                if (n <= 0) throw Error(nNode, $"sample.n must be positive, got {n}", "use a whole number ≥ 1");
                var seed = sf.TryGetValue("seed", out var sd) && !IsNull(sd.Value) ? Int(sd.Value, "sample.seed") : 0;
                sample = (n, seed, nNode);
            }

            var display = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(FileName) ?? "", rel);
            IReadOnlyList<CorpusFile.Row> rows;
            try
            {
                rows = CorpusFile.Read(full, display, selector);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw Error(pathNode, $"cannot read corpus file {full}: {ex.Message}", "check the file's permissions");
            }
            IReadOnlyList<CorpusFile.Row> taken = rows;
            if (limit is { } first) taken = [.. rows.Take(first)];
            if (sample is { } sm)
            {
                if (sm.N > rows.Count)
                    throw Error(sm.Node, $"sample.n {sm.N} is more than the corpus's {rows.Count} rows", $"use n ≤ {rows.Count}, or remove 'sample' for every row");
                taken = [.. SampleRows(rows.Count, sm.N, sm.Seed).Select(r => rows[r - 1])];
            }

            foreach (var row in taken)
            {
                var key = $"{name}-{row.Number}";
                if (keys.TryGetValue(key, out var firstAt))
                    throw Error(nameNode, $"corpus '{name}' makes text key '{key}', which is taken (first used at {At(firstAt).Line}:{At(firstAt).Column}; keys ignore case)",
                        "rename the corpus or the other text");
                keys[key] = nameNode;
                texts.Add(new TextSpec(key, row.Text, null, row.At, name));
            }
            corpora.Add(new CorpusSpec(name, full, Hashing.Sha256File(full), rows.Count, taken.Count, At(item)));
        }
    }
}
