using Tta.Metrics.Words;
using Tta.Tokenizers;

namespace Tta.Tests.Metrics;

/// <summary>
/// Token spans located in the text and the word alignment of two tokenizations, with the fixture tokenizers (BERT
/// WordPiece uncased, a byte-level BPE with a small vocabulary, T5's SentencePiece): expected spans written by hand.
/// </summary>
public sealed class WordAlignmentTests
{
    private static string Fixture(string name, string file) => Path.Combine(Repo.Fixture("tokenizers/" + name), file);

    private static readonly ITextTokenizer Bert = HuggingFaceTokenizer.Load(Fixture("bert-wordpiece", "tokenizer.json"));
    private static readonly ITextTokenizer Bpe = HuggingFaceTokenizer.Load(Fixture("bytelevel-bpe", "tokenizer.json"));
    private static readonly ITextTokenizer T5 = SentencePieceTokenizer.Load(Fixture("t5-unigram", "spiece.model"));

    /// <summary>Each token as <c>token=covered text@start</c>, or <c>token=-</c> without a span.</summary>
    private static string Describe(string text, TokenizedText tokens, CharSpan?[] spans) =>
        string.Join(" | ", tokens.Tokens.Select((t, i) => spans[i] is { } s ? $"{t}={text.Substring(s.Start, s.Length)}@{s.Start}" : $"{t}=-"));

    private static string Located(ITextTokenizer tokenizer, string text)
    {
        var tokens = tokenizer.Encode(text);
        return Describe(text, tokens, TokenSpans.Locate(text, tokens));
    }

    private const string Accents = "Naïve  résumé 😀 ok.";

    [Fact]
    public void SpansOfThreeTokenizersOnAccentsAnEmojiAndRepeatedSpaces()
    {
        // BERT uncased lowercases and strips accents; the emoji is [UNK], which gets the text between its neighbours.
        Assert.Equal(
            "[CLS]=- | naive=Naïve@0 | re=ré@7 | ##s=s@9 | ##u=u@10 | ##m=m@11 | ##e=é@12 | [UNK]=😀@14 | o=o@17 | ##k=k@18 | .=.@19 | [SEP]=-",
            Located(Bert, Accents));
        // Byte-level: "Ã¯" is ï's two UTF-8 bytes; the emoji's bytes F0 9F 98 80 arrive as "ĠðŁ" and "Ģ" (the fixture's
        // vocabulary lacks 98, so they never form a character and get the skipped text, as unknown tokens do).
        Assert.Equal(
            "N=N@0 | aÃ¯ve=aïve@1 | Ġ=- | Ġr=r@7 | Ã©=é@8 | s=s@9 | u=u@10 | m=m@11 | Ã©=é@12 | ĠðŁ=😀@14 | Ģ=😀@14 | Ġo=o@17 | k=k@18 | .=.@19",
            Located(Bpe, Accents));
        Assert.Equal(
            "▁=- | N=N@0 | a=a@1 | ï=ï@2 | ve=ve@3 | ▁=- | r=r@7 | é=é@8 | s=s@9 | um=um@10 | é=é@12 | ▁=- | 😀=😀@14 | ▁=- | ok=ok@17 | .=.@19 | </s>=-",
            Located(T5, Accents));
    }

    [Fact]
    public void SpansOnPunctuationDigitsAndSymbols()
    {
        const string text = "The café's price: 3.50 €, up 12%!";
        Assert.Equal(
            "[CLS]=- | the=The@0 | cafe=café@4 | [UNK]='@8 | s=s@9 | p=p@11 | ##ric=ric@12 | ##e=e@15 | :=:@16 | 3=3@18 | .=.@19 | 5=5@20 | ##0=0@21 | [UNK]=€@23 | ,=,@24 | u=u@26 | ##p=p@27 | 1=1@29 | ##2=2@30 | [UNK]=%@31 | !=!@32 | [SEP]=-",
            Located(Bert, text));
        Assert.Equal(
            "The=The@0 | Ġcaf=caf@4 | Ã©=é@7 | s=s@9 | Ġ=- | p=p@11 | r=r@12 | ic=ic@13 | e=e@15 | :=:@16 | Ġ3=3@18 | .=.@19 | 5=5@20 | 0=0@21 | Ġ=- | Ĥ=€@23 | ¬=€@23 | ,=,@24 | Ġ=- | u=u@26 | p=p@27 | Ġ=- | 1=1@29 | 2=2@30 | !=!@32",
            Located(Bpe, text));
        Assert.Equal(
            "▁The=The@0 | ▁c=c@4 | af=af@5 | é=é@7 | '='@8 | s=s@9 | ▁=- | p=p@11 | r=r@12 | ic=ic@13 | e=e@15 | :=:@16 | ▁=- | 3=3@18 | .=.@19 | 5=5@20 | 0=0@21 | ▁=- | €=€@23 | ,=,@24 | ▁=- | u=u@26 | p=p@27 | ▁=- | 1=1@29 | 2=2@30 | %=%@31 | !=!@32 | </s>=-",
            Located(T5, text));
    }

    [Fact]
    public void WordsAreMaximalRunsOfNonSpaceAndEachTakesTheTokensStartingInIt()
    {
        Assert.Equal([new CharSpan(0, 5), new CharSpan(7, 6), new CharSpan(14, 2), new CharSpan(17, 3)], WordAlignment.Words(Accents));
        Assert.Equal([new CharSpan(1, 2), new CharSpan(6, 1), new CharSpan(8, 3)], WordAlignment.Words(" ab\t\n c\u00A0d-e "));
        Assert.Empty(WordAlignment.Words(" \t "));

        var a = Bert.Encode(Accents);
        var b = Bpe.Encode(Accents);
        var words = WordAlignment.Of(Accents, TokenSpans.Locate(Accents, a), TokenSpans.Locate(Accents, b));
        Assert.Equal(["Naïve", "résumé", "😀", "ok."], words.Select(w => w.Text));
        Assert.Equal([[1], [2, 3, 4, 5, 6], [7], [8, 9, 10]], words.Select(w => w.TokensA));
        Assert.Equal([[0, 1], [3, 4, 5, 6, 7, 8], [9, 10], [11, 12, 13]], words.Select(w => w.TokensB));

        // A word only one side covers is left out. The fixture BPE lacks "H" and drops it: its "e" starts at 1, still
        // inside "Hello,".
        const string hello = "Hello, world.";
        var onlyA = WordAlignment.Of(hello, TokenSpans.Locate(hello, Bert.Encode(hello)), [null, null, null]);
        Assert.Empty(onlyA);
        var both = WordAlignment.Of(hello, TokenSpans.Locate(hello, Bert.Encode(hello)), TokenSpans.Locate(hello, Bpe.Encode(hello)));
        Assert.Equal(["Hello,", "world."], both.Select(w => w.Text));
        Assert.Equal([0, 1, 2, 3, 4], both[0].TokensB);
    }

    private static CharSpan?[] Spans(string text, params string[] tokens) =>
        TokenSpans.Locate(text, new TokenizedText(new long[tokens.Length], tokens));

    private static CharSpan?[] Spans(string text, TokenSurfaces surfaces, params string[] tokens) =>
        TokenSpans.Locate(text, new TokenizedText(new long[tokens.Length], tokens), surfaces);

    [Fact]
    public void ByteLevelByteFallbackAndSpecialTokens()
    {
        // GPT-2: a whole emoji in one token ("ĠðŁĺĢ" = space F0 9F 98 80), and split over two.
        Assert.Equal([new CharSpan(0, 2), new CharSpan(3, 2), null], Spans("hi 😀", "hi", "ĠðŁĺĢ", "<|endoftext|>"));
        Assert.Equal([new CharSpan(3, 2), new CharSpan(3, 2)], Spans("hi 😀", TokenSurfaces.ByteLevel, "ĠðŁĺ", "Ģ"));
        // Llama's byte fallback: one piece per byte.
        var emoji = new CharSpan(2, 2);
        Assert.Equal([null, new CharSpan(0, 1), emoji, emoji, emoji, emoji, null],
            Spans("a 😀", "<s>", "▁a", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "</s>"));
        // Special tokens and padding never get a span, even when their text occurs.
        Assert.Equal([null, null, new CharSpan(6, 1), null, null], Spans("[CLS] x", "[CLS]", "<pad>", "x", "<extra_id_0>", "[SEP]"));
        // Digits and repeated whitespace; "##" alone is a literal.
        Assert.Equal([new CharSpan(0, 2), new CharSpan(2, 1), new CharSpan(6, 2)], Spans("12#   ##", "12", "#", "##"));
        // Unknown tokens share the skipped text: a word each, else a character each, else all of it.
        Assert.Equal([new CharSpan(2, 1), new CharSpan(3, 1)], Spans("a // b", "a", "[UNK]", "[UNK]", "b").Skip(1).Take(2));
        Assert.Equal([new CharSpan(2, 2), new CharSpan(5, 3)], Spans("a xy zzz b", "a", "[UNK]", "[UNK]", "b").Skip(1).Take(2));
        Assert.Equal([new CharSpan(2, 3), new CharSpan(2, 3)], Spans("a xyz b", "a", "[UNK]", "[UNK]", "b").Skip(1).Take(2));
        // Unknown tokens at the end take the rest of the text.
        Assert.Equal([new CharSpan(0, 1), new CharSpan(2, 3)], Spans("a b c", "a", "[UNK]"));
    }

    [Fact]
    public void PoolingIsTheMeanOfEachWordsTokenRows()
    {
        float[] values = [1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal([2f, 3f, 7f, 8f], WordAlignment.Pool(values, 4, 2, [[0, 1], [3]]));
        Assert.Equal([4f, 5f], WordAlignment.Pool(values, 4, 2, [[0, 1, 2, 3]]));
        Assert.Throws<ArgumentOutOfRangeException>(() => WordAlignment.Pool(values, 4, 2, [[4]]));
        Assert.Throws<ArgumentException>(() => WordAlignment.Pool(values, 4, 2, [[]]));
    }
}
