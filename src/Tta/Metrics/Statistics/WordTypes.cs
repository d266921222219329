using Tta.Config;
using Tta.Metrics.Words;
using Tta.Store;
using Tta.Tokenizers;

namespace Tta.Metrics.Statistics;

/// <summary>
/// The word types of self-similarity: a word (<see cref="WordAlignment.Words"/>: a maximal run of non-space
/// characters) lower-cased, with the punctuation and symbols at its ends trimmed ("Mat." is "mat"; a word of
/// punctuation only is no type); its vector at a layer is the mean of the tokens whose span starts in it. Only types
/// seen at least <c>min_occurrences</c> times across the corpus count, at most the <c>max_types</c> most frequent
/// (ties in ordinal order), so the accumulators' memory is bounded.
/// </summary>
public static class WordTypes
{
    /// <summary>The rule, in words, for captions.</summary>
    public const string Rule = "word types: words (maximal runs of non-space characters) lower-cased, punctuation at their ends trimmed";

    /// <summary>The counted types, each with its index (0…Count−1), from a first pass over the texts' stored tokens.</summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountAsync(CorpusActivations corpus, IEnumerable<TextSpec> texts, int minOccurrences, int maxTypes)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var (tokens, ids) = await corpus.TokensAsync(text);
            foreach (var (type, _) in Words(text.Text, ids, tokens))
                counts[type] = counts.GetValueOrDefault(type) + 1;
        }
        return counts.Where(kv => kv.Value >= minOccurrences)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(maxTypes)
            .Select((kv, i) => (kv.Key, i)).ToDictionary(x => x.Key, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>The occurrences of counted types in one text: the type's index and the word's tokens.</summary>
    public static IReadOnlyList<(int Type, int[] Tokens)> Occurrences(TextStates text, IReadOnlyDictionary<string, int> types) =>
        [.. Words(text.Text.Text, text.Ids, text.Tokens).Where(w => types.ContainsKey(w.Type)).Select(w => (types[w.Type], w.Tokens))];

    /// <summary>A word's vector: the mean of its tokens' rows of <paramref name="block"/>.</summary>
    public static float[] Pool(VectorBlock block, int[] tokens) => WordAlignment.Pool(block.Values, block.Positions, block.Dim, [tokens]);

    /// <summary>The words of a text that hold a token and have a type, with their tokens.</summary>
    private static IEnumerable<(string Type, int[] Tokens)> Words(string text, long[] ids, string[] tokens)
    {
        var words = WordAlignment.Words(text);
        var perWord = WordAlignment.TokensPerWord(words, TokenSpans.Locate(text, new TokenizedText(ids, tokens)));
        for (var w = 0; w < words.Count; w++)
        {
            if (perWord[w].Count == 0) continue;
            var type = TypeOf(text.Substring(words[w].Start, words[w].Length));
            if (type.Length > 0) yield return (type, [.. perWord[w]]);
        }
    }

    private static string TypeOf(string word) =>
        word.Trim().TrimStart(Trimmed).TrimEnd(Trimmed).ToLowerInvariant();

    private static readonly char[] Trimmed = [.. Enumerable.Range(33, 94).Select(c => (char)c).Where(c => !char.IsLetterOrDigit(c)),
        '“', '”', '‘', '’', '«', '»', '…', '—', '–'];
}
