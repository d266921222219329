using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// Unigram language-model segmentation, as SentencePiece and the tokenizers library run it: a forward Viterbi pass over
/// the (already normalised) text where every vocabulary piece starting at a character is an edge scored by its log
/// probability, a character no single-character piece covers becomes the unknown piece (score: lowest piece score − 10),
/// consecutive unknowns are fused into one, and with byte fallback an unknown is spelt as <c>&lt;0xXX&gt;</c> byte pieces.
/// Ties keep the first candidate found (earliest start, then shortest piece), as both implementations do.
/// </summary>
public sealed class UnigramModel
{
    public const double UnknownPenalty = 10.0;

    private sealed class Node
    {
        public Dictionary<char, Node>? Next;
        public int Id = -1;
    }

    private readonly Node root = new();
    private readonly string[] pieces;
    private readonly double[] scores;
    private readonly int[]? bytePieces;

    public int UnknownId { get; }
    public double UnknownScore { get; }
    public bool SinglePrecision { get; }
    public IReadOnlyList<string> Pieces => pieces;

    /// <param name="pieces">Vocabulary, index = id.</param>
    /// <param name="scores">Score of each piece as a Viterbi edge.</param>
    /// <param name="matchable">Which pieces may be matched in text (SentencePiece leaves out control, unknown, unused and byte pieces).</param>
    /// <param name="unknownId">Id of the unknown piece.</param>
    /// <param name="minScore">Lowest score (the unknown scores this minus <see cref="UnknownPenalty"/>).</param>
    /// <param name="byteFallback">Spell unknowns as <c>&lt;0xXX&gt;</c> pieces.</param>
    /// <param name="singlePrecision">Accumulate path scores in float32 (SentencePiece) rather than float64 (tokenizers).</param>
    public UnigramModel(IReadOnlyList<string> pieces, IReadOnlyList<double> scores, Func<int, bool> matchable, int unknownId,
        double minScore, bool byteFallback, bool singlePrecision)
    {
        if (pieces.Count != scores.Count) throw new ArgumentException("pieces and scores differ in length");
        if (unknownId < 0 || unknownId >= pieces.Count) throw new InvalidDataException($"unigram model: unknown id {unknownId} out of range");
        this.pieces = pieces.ToArray();
        this.scores = scores.ToArray();
        UnknownId = unknownId;
        UnknownScore = minScore - UnknownPenalty;
        SinglePrecision = singlePrecision;
        for (var id = 0; id < this.pieces.Length; id++)
        {
            if (!matchable(id) || this.pieces[id].Length == 0) continue;
            var node = root;
            foreach (var c in this.pieces[id])
            {
                node.Next ??= [];
                if (!node.Next.TryGetValue(c, out var child)) node.Next[c] = child = new Node();
                node = child;
            }
            if (node.Id < 0) node.Id = id; // the first occurrence wins
        }
        if (byteFallback)
        {
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var id = 0; id < this.pieces.Length; id++) index.TryAdd(this.pieces[id], id);
            bytePieces = new int[256];
            for (var b = 0; b < 256; b++) bytePieces[b] = index.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
        }
    }

    /// <summary>Score of a matched piece (id, UTF-16 length); SentencePiece overrides it for user-defined pieces.</summary>
    public Func<int, int, double>? ScoreOverride { get; init; }

    /// <summary>Best segmentation of <paramref name="text"/> as (id, piece string); unknowns carry their surface text.</summary>
    public List<(int Id, string Piece)> Encode(string text)
    {
        var result = new List<(int Id, string Piece)>();
        var n = text.Length;
        if (n == 0) return result;
        var best = new double[n + 1];
        var from = new int[n + 1];
        var ids = new int[n + 1];
        Array.Fill(from, -1);
        from[0] = 0;
        for (var begin = 0; begin < n;)
        {
            var charLen = char.IsHighSurrogate(text[begin]) && begin + 1 < n && char.IsLowSurrogate(text[begin + 1]) ? 2 : 1;
            if (from[begin] >= 0 || begin == 0)
            {
                var baseScore = best[begin];
                var hasSingle = false;
                var node = root;
                for (var j = begin; j < n; j++)
                {
                    if (node.Next is null || !node.Next.TryGetValue(text[j], out node)) break;
                    if (node.Id < 0) continue;
                    var end = j + 1;
                    var length = end - begin;
                    var score = ScoreOverride?.Invoke(node.Id, length) ?? scores[node.Id];
                    Relax(end, begin, node.Id, baseScore + score);
                    if (length == charLen) hasSingle = true;
                }
                // SentencePiece adds the unknown score in float, the piece scores in double (then stores a float).
                if (!hasSingle) Relax(begin + charLen, begin, UnknownId, SinglePrecision ? (float)baseScore + (float)UnknownScore : baseScore + UnknownScore);
            }
            begin += charLen;
        }
        // Back-track from the end.
        var path = new List<(int Start, int End, int Id)>();
        for (var end = n; end > 0;)
        {
            var start = from[end];
            if (start < 0) throw new InvalidOperationException("unigram lattice: the end is unreachable");
            path.Add((start, end, ids[end]));
            end = start;
        }
        path.Reverse();
        var previousUnknown = false;
        foreach (var (start, end, id) in path)
        {
            var surface = text[start..end];
            if (id == UnknownId && previousUnknown) result[^1] = (id, result[^1].Piece + surface);
            else result.Add((id, id == UnknownId ? surface : pieces[id]));
            previousUnknown = id == UnknownId;
        }
        if (bytePieces is null) return result;
        var spelt = new List<(int, string)>(result.Count);
        foreach (var (id, piece) in result)
        {
            if (id != UnknownId)
            {
                spelt.Add((id, piece));
                continue;
            }
            var bytes = Encoding.UTF8.GetBytes(piece);
            if (bytes.All(b => bytePieces[b] >= 0)) spelt.AddRange(bytes.Select(b => (bytePieces[b], pieces[bytePieces[b]])));
            else spelt.Add((id, piece));
        }
        return spelt;

        // SentencePiece compares the candidate (a double) with the float it stored for the best path so far, and stores
        // the winner as a float; tokenizers keeps doubles throughout.
        void Relax(int end, int start, int id, double candidate)
        {
            if (from[end] < 0 || candidate > best[end])
            {
                best[end] = SinglePrecision ? (float)candidate : candidate;
                from[end] = start;
                ids[end] = id;
            }
        }
    }
}
