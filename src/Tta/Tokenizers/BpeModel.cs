using System.Collections.Concurrent;
using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// The tokenizers library's BPE model on one pre-token: split into characters (with the continuing-subword prefix /
/// end-of-word suffix if configured), map each to its id — a character missing from the vocabulary becomes
/// <c>&lt;0xXX&gt;</c> byte pieces (byte fallback), else the unknown token (consecutive ones fused if <c>fuse_unk</c>),
/// else is dropped — then apply merges lowest rank first, leftmost first among equal ranks. The merges run as Hugging
/// Face's <c>Word::merge_all</c> does: a priority queue of (rank, position) over a linked list of symbols, stale entries
/// skipped when popped, so a word of n symbols costs O(n log n) rather than a rescan after every merge.
/// </summary>
public sealed class BpeModel
{
    /// <summary>Words this long or longer are not cached (as tokenizers' <c>MAX_LENGTH</c>).</summary>
    public const int CacheMaxLength = 256;
    private const int CacheCapacity = 100_000;

    private readonly Dictionary<string, int> vocab;
    private readonly string[] tokens;
    /// <summary>(left id &lt;&lt; 32 | right id) → (rank &lt;&lt; 32 | merged id).</summary>
    private readonly Dictionary<long, long> merges = [];
    /// <summary>Id of each single-UTF-16-unit token, or -1: the common case (every byte-level character) needs no string.</summary>
    private readonly int[] singleCharIds = new int[char.MaxValue + 1];
    private readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheBySpan;
    private int cachedCount;

    public string? UnknownToken { get; init; }
    public string? ContinuingSubwordPrefix { get; init; }
    public string? EndOfWordSuffix { get; init; }
    public bool FuseUnknown { get; init; }
    public bool ByteFallback { get; init; }
    public bool IgnoreMerges { get; init; }

    public BpeModel(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<(string Left, string Right)> mergeList,
        string? continuingSubwordPrefix = null)
    {
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        vocab = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        var size = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        tokens = new string[size];
        Array.Fill(singleCharIds, -1);
        foreach (var (t, id) in vocab)
        {
            tokens[id] = t;
            if (t.Length == 1 && !char.IsSurrogate(t[0])) singleCharIds[t[0]] = id;
        }
        var rank = 0L;
        foreach (var (left, right) in mergeList)
        {
            if (!vocab.TryGetValue(left, out var a) || !vocab.TryGetValue(right, out var b))
                throw new InvalidDataException($"BPE merge '{left} {right}': a part is not in the vocabulary");
            var prefixLength = continuingSubwordPrefix is { } p && right.StartsWith(p, StringComparison.Ordinal) ? p.Length : 0;
            var merged = left + right[prefixLength..];
            if (!vocab.TryGetValue(merged, out var id))
                throw new InvalidDataException($"BPE merge '{left} {right}': '{merged}' is not in the vocabulary");
            merges[Pair(a, b)] = rank << 32 | (uint)id; // a repeated pair keeps its last rank, as in tokenizers
            rank++;
        }
        cacheBySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private static long Pair(int left, int right) => (long)left << 32 | (uint)right;

    public string Token(int id) => id >= 0 && id < tokens.Length && tokens[id] is { } t ? t : throw new ArgumentOutOfRangeException(nameof(id));

    public bool TryGetId(string token, out int id) => vocab.TryGetValue(token, out id);

    /// <summary>Empties the word cache (benchmarks time first encodes with it).</summary>
    public void ClearCache()
    {
        cache.Clear();
        cachedCount = 0;
    }

    /// <summary>Ids of one pre-token (thread-safe; words shorter than <see cref="CacheMaxLength"/> are cached).</summary>
    public IReadOnlyList<int> Tokenize(string word) => Tokenize(word.AsSpan());

    /// <inheritdoc cref="Tokenize(string)"/>
    public int[] Tokenize(ReadOnlySpan<char> word)
    {
        if (word.IsEmpty) return [];
        if (cacheBySpan.TryGetValue(word, out var cached)) return cached;
        int[] result;
        if (IgnoreMerges && vocab.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(word, out var whole)) result = [whole];
        else
        {
            var symbols = new List<int>(word.Length);
            Symbols(word, symbols);
            result = Merge(symbols);
        }
        // (ConcurrentDictionary.Count takes every lock: count the entries ourselves.)
        if (word.Length < CacheMaxLength && cachedCount < CacheCapacity && cacheBySpan.TryAdd(word, result))
            Interlocked.Increment(ref cachedCount);
        return result;
    }

    /// <summary>tokenizers' <c>merge_word</c>: the initial symbols, with its unknown-token and byte-fallback rules.</summary>
    private void Symbols(ReadOnlySpan<char> word, List<int> symbols)
    {
        var plain = string.IsNullOrEmpty(ContinuingSubwordPrefix) && string.IsNullOrEmpty(EndOfWordSuffix);
        int pendingUnknown = -1;
        for (var i = 0; i < word.Length;)
        {
            var length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var isFirst = i == 0;
            var isLast = i + length == word.Length;
            var character = word.Slice(i, length);
            i += length;
            if (plain && length == 1 && singleCharIds[character[0]] is var single and >= 0)
            {
                FlushUnknown();
                symbols.Add(single);
                continue;
            }
            var piece = character.ToString();
            if (!isFirst && ContinuingSubwordPrefix is not null) piece = ContinuingSubwordPrefix + piece;
            if (isLast && EndOfWordSuffix is not null) piece += EndOfWordSuffix;
            if (vocab.TryGetValue(piece, out var id))
            {
                FlushUnknown();
                symbols.Add(id);
                continue;
            }
            if (ByteFallback)
            {
                // As tokenizers: the bytes of the piece (prefix and suffix included); a pending unknown is not flushed first.
                var bytes = Encoding.UTF8.GetBytes(piece);
                var byteIds = new List<int>(bytes.Length);
                foreach (var b in bytes)
                    if (vocab.TryGetValue($"<0x{b:X2}>", out var bid)) byteIds.Add(bid);
                if (byteIds.Count == bytes.Length)
                {
                    symbols.AddRange(byteIds);
                    continue;
                }
            }
            if (UnknownToken is null) continue; // no unknown token: the character is dropped
            if (!vocab.TryGetValue(UnknownToken, out var unk))
                throw new InvalidDataException($"BPE unknown token '{UnknownToken}' is not in the vocabulary");
            if (pendingUnknown >= 0 && !FuseUnknown) symbols.Add(pendingUnknown);
            pendingUnknown = unk;
        }
        FlushUnknown();

        void FlushUnknown()
        {
            if (pendingUnknown < 0) return;
            symbols.Add(pendingUnknown);
            pendingUnknown = -1;
        }
    }

    /// <summary>
    /// Applies merges as <c>Word::merge_all</c>: a min-heap of (rank, left position) candidates over a doubly linked
    /// list; a popped candidate whose pair no longer has that rank is stale and skipped.
    /// </summary>
    private int[] Merge(List<int> symbolList)
    {
        var n = symbolList.Count;
        if (n < 2 || merges.Count == 0) return [.. symbolList];
        var ids = symbolList.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        var heap = new PriorityQueue<int, long>(n);
        for (var i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
            if (i + 1 < n && merges.TryGetValue(Pair(ids[i], ids[i + 1]), out var m)) heap.Enqueue(i, Key(m, i));
        }
        while (heap.TryDequeue(out var pos, out var key))
        {
            if (!alive[pos] || next[pos] < 0) continue;
            var right = next[pos];
            if (!merges.TryGetValue(Pair(ids[pos], ids[right]), out var current) || current >> 32 != key >> 32) continue;
            ids[pos] = (int)(uint)current;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0 && merges.TryGetValue(Pair(ids[prev[pos]], ids[pos]), out var left))
                heap.Enqueue(prev[pos], Key(left, prev[pos]));
            if (next[pos] >= 0 && merges.TryGetValue(Pair(ids[pos], ids[next[pos]]), out var after))
                heap.Enqueue(pos, Key(after, pos));
        }
        var count = 0;
        for (var i = 0; i >= 0; i = next[i]) count++;
        var result = new int[count];
        count = 0;
        for (var i = 0; i >= 0; i = next[i]) result[count++] = ids[i];
        return result;

        // Lower rank first, then the leftmost position (positions are indices into the original symbols, so they keep
        // their left-to-right order).
        static long Key(long merge, int position) => (merge >> 32) << 32 | (uint)position;
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
    public static string ToByteLevel(string text) => ToByteLevel(text.AsSpan());

    /// <inheritdoc cref="ToByteLevel(string)"/>
    public static string ToByteLevel(ReadOnlySpan<char> text)
    {
        const int StackLimit = 256;
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        Span<byte> bytes = max <= StackLimit ? stackalloc byte[StackLimit] : (rentedBytes = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        Span<char> chars = max <= StackLimit ? stackalloc char[StackLimit] : (rentedChars = System.Buffers.ArrayPool<char>.Shared.Rent(max));
        var count = Encoding.UTF8.GetBytes(text, bytes);
        for (var i = 0; i < count; i++) chars[i] = ByteToChar[bytes[i]];
        var result = new string(chars[..count]);
        if (rentedBytes is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rentedBytes);
        if (rentedChars is not null) System.Buffers.ArrayPool<char>.Shared.Return(rentedChars);
        return result;
    }
}
