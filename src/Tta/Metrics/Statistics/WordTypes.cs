using Tta.Config;
using Tta.Metrics.Words;

namespace Tta.Metrics.Statistics;

/// <summary>
/// The word types of self-similarity: a word (<see cref="TextWords"/>) lower-cased; its vector at a layer is the mean
/// of its tokens. Only types seen at least <c>min_occurrences</c> times across the corpus count, at most the
/// <c>max_types</c> most frequent (ties in ordinal order), so the accumulators' memory is bounded.
/// </summary>
public static class WordTypes
{
    /// <summary>The counted types, each with its index (0…Count−1), from a first pass over the texts' stored tokens.</summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountAsync(CorpusActivations corpus, IEnumerable<TextSpec> texts, int minOccurrences, int maxTypes)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var (tokens, _) = await corpus.TokensAsync(text);
            foreach (var word in TextWords.Of(text.Text, tokens))
                counts[TypeOf(word)] = counts.GetValueOrDefault(TypeOf(word)) + 1;
        }
        return counts.Where(kv => kv.Value >= minOccurrences)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(maxTypes)
            .Select((kv, i) => (kv.Key, i)).ToDictionary(x => x.Key, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>The occurrences of counted types in one text: the type's index and the word's tokens.</summary>
    public static IReadOnlyList<(int Type, int[] Tokens)> Occurrences(TextStates text, IReadOnlyDictionary<string, int> types) =>
        [.. TextWords.Of(text.Text.Text, text.Tokens).Where(w => types.ContainsKey(TypeOf(w))).Select(w => (types[TypeOf(w)], w.Tokens))];

    private static string TypeOf(Word word) => word.Text.ToLowerInvariant();
}
