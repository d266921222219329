using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// The tokenizers library's BPE model on one pre-token: split into characters (with the continuing-subword prefix /
/// end-of-word suffix if configured), map each to its id — a character missing from the vocabulary becomes
/// <c>&lt;0xXX&gt;</c> byte pieces (byte fallback), else the unknown token (consecutive ones fused if <c>fuse_unk</c>),
/// else is dropped — then repeatedly apply the lowest-ranked merge among adjacent pairs, leftmost first.
/// </summary>
public sealed class BpeModel
{
    private readonly Dictionary<string, int> vocab;
    private readonly string[] tokens;
    private readonly Dictionary<(int, int), (int Rank, int NewId)> merges = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);

    public string? UnknownToken { get; init; }
    public string? ContinuingSubwordPrefix { get; init; }
    public string? EndOfWordSuffix { get; init; }
    public bool FuseUnknown { get; init; }
    public bool ByteFallback { get; init; }
    public bool IgnoreMerges { get; init; }

    public BpeModel(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<(string Left, string Right)> mergeList)
    {
        vocab = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        var size = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        tokens = new string[size];
        foreach (var (t, id) in vocab) tokens[id] = t;
        var rank = 0;
        foreach (var (left, right) in mergeList)
        {
            if (!vocab.TryGetValue(left, out var a) || !vocab.TryGetValue(right, out var b))
                throw new InvalidDataException($"BPE merge '{left} {right}': a part is not in the vocabulary");
            var prefixLength = ContinuingSubwordPrefix is { } p && right.StartsWith(p, StringComparison.Ordinal) ? p.Length : 0;
            var merged = left + right[prefixLength..];
            if (!vocab.TryGetValue(merged, out var id))
                throw new InvalidDataException($"BPE merge '{left} {right}': '{merged}' is not in the vocabulary");
            merges[(a, b)] = (rank, id); // a repeated pair keeps its last rank, as in tokenizers
            rank++;
        }
    }

    public string Token(int id) => id >= 0 && id < tokens.Length && tokens[id] is { } t ? t : throw new ArgumentOutOfRangeException(nameof(id));

    public bool TryGetId(string token, out int id) => vocab.TryGetValue(token, out id);

    /// <summary>Ids of one pre-token (thread-safe; results are cached per word).</summary>
    public IReadOnlyList<int> Tokenize(string word)
    {
        if (word.Length == 0) return [];
        if (cache.TryGetValue(word, out var cached)) return cached;
        int[] result = IgnoreMerges && vocab.TryGetValue(word, out var whole) ? [whole] : [.. Merge(Symbols(word))];
        if (cache.Count < 100_000) cache.TryAdd(word, result);
        return result;
    }

    private List<int> Symbols(string word)
    {
        var symbols = new List<int>();
        var runes = word.EnumerateRunes().Select(r => r.ToString()).ToList();
        var previousUnknown = false;
        for (var i = 0; i < runes.Count; i++)
        {
            var piece = runes[i];
            if (i > 0 && ContinuingSubwordPrefix is not null) piece = ContinuingSubwordPrefix + piece;
            if (i == runes.Count - 1 && EndOfWordSuffix is not null) piece += EndOfWordSuffix;
            if (vocab.TryGetValue(piece, out var id))
            {
                symbols.Add(id);
                previousUnknown = false;
                continue;
            }
            if (ByteFallback)
            {
                var bytes = Encoding.UTF8.GetBytes(runes[i]);
                var byteIds = new List<int>();
                foreach (var b in bytes)
                    if (vocab.TryGetValue($"<0x{b:X2}>", out var bid)) byteIds.Add(bid);
                if (byteIds.Count == bytes.Length)
                {
                    symbols.AddRange(byteIds);
                    previousUnknown = false;
                    continue;
                }
            }
            if (UnknownToken is null) continue; // no unknown token: the character is dropped
            if (!vocab.TryGetValue(UnknownToken, out var unk))
                throw new InvalidDataException($"BPE unknown token '{UnknownToken}' is not in the vocabulary");
            if (!(FuseUnknown && previousUnknown)) symbols.Add(unk);
            previousUnknown = true;
        }
        return symbols;
    }

    private List<int> Merge(List<int> symbols)
    {
        while (symbols.Count > 1)
        {
            var bestRank = int.MaxValue;
            var bestAt = -1;
            var bestId = -1;
            for (var i = 0; i + 1 < symbols.Count; i++)
            {
                if (merges.TryGetValue((symbols[i], symbols[i + 1]), out var m) && m.Rank < bestRank)
                {
                    bestRank = m.Rank;
                    bestAt = i;
                    bestId = m.NewId;
                }
            }
            if (bestAt < 0) break;
            symbols[bestAt] = bestId;
            symbols.RemoveAt(bestAt + 1);
        }
        return symbols;
    }

    /// <summary>GPT-2's reversible byte → printable character map (bytes_to_unicode).</summary>
    public static readonly char[] ByteToChar = BuildByteMap();

    private static char[] BuildByteMap()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/>, each written as its byte-level character.</summary>
    public static string ToByteLevel(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }
}
