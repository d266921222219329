using System.Text;

namespace Tta.Bench;

/// <summary>
/// Distinct English sentences of 5 to 40 words for the corpus benchmarks, made by a small grammar from fixed word
/// lists and a fixed seed: the same list on every machine and every run (our own sentences, no licence to state).
/// </summary>
public static class SentenceCorpus
{
    public const int MinWords = 5;
    public const int MaxWords = 40;

    private static readonly string[] Adjectives =
    [
        "quiet", "old", "bright", "narrow", "careful", "heavy", "patient", "curious", "small", "distant", "wooden", "early",
        "local", "tired", "honest", "famous", "simple", "strange", "broken", "gentle", "northern", "modern", "empty", "busy",
    ];

    private static readonly string[] Nouns =
    [
        "teacher", "river", "farmer", "library", "committee", "engineer", "garden", "student", "village", "report", "bridge",
        "musician", "doctor", "harbour", "painter", "museum", "kitchen", "journalist", "forest", "train", "market",
        "scientist", "letter", "council", "mountain", "child", "neighbour", "factory", "poem", "island", "window", "storm",
    ];

    private static readonly string[] Verbs =
    [
        "noticed", "described", "repaired", "followed", "questioned", "painted", "visited", "measured", "ignored", "praised",
        "carried", "studied", "watched", "explained", "protected", "recorded", "remembered", "crossed", "opened", "shared",
    ];

    private static readonly string[] Prepositions = ["near", "behind", "across", "beside", "after", "before", "under", "around", "beyond", "within"];

    private static readonly string[] Adverbs = ["slowly", "quickly", "carefully", "again", "yesterday", "often", "rarely", "later", "at dawn", "without a word"];

    private static readonly string[] Joins = ["and", "but", "because", "while", "although", "so", "until", "after", "when", "since"];

    /// <summary>The first <paramref name="count"/> sentences (a prefix of every longer list).</summary>
    public static IReadOnlyList<string> Sentences(int count, int seed = 23)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sentences = new List<string>(count);
        while (sentences.Count < count)
        {
            var sentence = Sentence(random, random.Next(MinWords, MaxWords + 1));
            if (seen.Add(sentence)) sentences.Add(sentence);
        }
        return sentences;
    }

    /// <summary>Clauses joined by conjunctions until about <paramref name="target"/> words, never more than <see cref="MaxWords"/>.</summary>
    private static string Sentence(Random random, int target)
    {
        var words = new List<string>();
        while (true)
        {
            var clause = Clause(random);
            if (words.Count > 0 && words.Count + 1 + clause.Count > MaxWords) break;
            if (words.Count > 0) words.Add(Pick(random, Joins));
            words.AddRange(clause);
            if (words.Count >= target) break;
        }
        // Short targets: a clause is at least five words, so every sentence has MinWords or more.
        var text = new StringBuilder(string.Join(' ', words));
        text[0] = char.ToUpperInvariant(text[0]);
        return text.Append(random.Next(8) == 0 ? '?' : '.').ToString();
    }

    private static List<string> Clause(Random random)
    {
        var clause = NounPhrase(random);
        clause.Add(Pick(random, Verbs));
        clause.AddRange(NounPhrase(random));
        if (random.Next(2) == 0)
        {
            clause.Add(Pick(random, Prepositions));
            clause.AddRange(NounPhrase(random));
        }
        if (random.Next(3) == 0) clause.AddRange(Pick(random, Adverbs).Split(' '));
        return clause;
    }

    private static List<string> NounPhrase(Random random)
    {
        List<string> phrase = [random.Next(3) == 0 ? "a" : "the"];
        if (random.Next(2) == 0) phrase.Add(Pick(random, Adjectives));
        phrase.Add(Pick(random, Nouns));
        if (phrase[0] == "a" && "aeiou".Contains(phrase[1][0], StringComparison.Ordinal)) phrase[0] = "an";
        return phrase;
    }

    private static string Pick(Random random, string[] words) => words[random.Next(words.Length)];
}
