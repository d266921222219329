using System.Text;
using Tta.Figures;

namespace Tta.Tests.Figures;

/// <summary>Token strings as readers see them: SentencePiece, byte-level BPE, byte fallback, whitespace, cutting.</summary>
public class TokenLabelTests
{
    /// <summary>
    /// GPT-2's bytes_to_unicode, written out here independently of the product: printable bytes map to themselves,
    /// the other 68 to U+0100 onwards in byte order.
    /// </summary>
    private static string ByteLevel(string text)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var printable = b is >= (byte)'!' and <= (byte)'~' or >= 0xA1 and <= 0xAC or >= 0xAE;
            if (printable)
            {
                sb.Append((char)b);
                continue;
            }
            var n = 0;
            for (var k = 0; k < b; k++)
                if (!(k is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE)) n++;
            sb.Append((char)(0x100 + n));
        }
        return sb.ToString();
    }

    [Fact]
    public void ByteLevelTokensAreDecodedToTheirText()
    {
        Assert.Equal("Ġ", ByteLevel(" "));
        Assert.Equal("Ċ", ByteLevel("\n"));
        Assert.Equal("Ã©", ByteLevel("é"));
        string[] pieces = ["Hello", " wor", "ld", ",", " café", "\n", " naïve", " “", "quoted", "”", "\t", " 東京"];
        var tokens = pieces.Select(ByteLevel).ToArray();
        Assert.True(TokenLabels.IsByteLevel(tokens));
        Assert.Equal(
            ["Hello", "␣wor", "ld", ",", "␣café", "↵", "␣naïve", "␣“", "quoted", "”", "⇥", "␣東京"],
            TokenLabels.Labels(tokens));
        // A character split across tokens: each incomplete byte is shown as \xNN, the complete ones decode.
        var quote = ByteLevel("“"); // E2 80 9C
        Assert.Equal(["␣a", "\\xE2\\x80", "\\x9C"], TokenLabels.Labels(["Ġa", quote[..2], quote[2..]]));
        // Special tokens stay as they are.
        Assert.Equal(["<|endoftext|>", "Hi", "␣there"], TokenLabels.Labels(["<|endoftext|>", "Hi", "Ġthere"], maxChars: 0));
    }

    [Fact]
    public void SentencePieceWordPieceAndByteFallbackTokens()
    {
        string[] t5 = ["▁The", "▁quick", "▁brown", "s", "</s>"];
        Assert.False(TokenLabels.IsByteLevel(t5));
        Assert.Equal(["␣The", "␣quick", "␣brown", "s", "</s>"], TokenLabels.Labels(t5));
        // Llama: SentencePiece with byte fallback.
        Assert.Equal(["↵", "⇥", "␣", "A", "<0xE2>", "␣hello"], TokenLabels.Labels(["<0x0A>", "<0x09>", "<0x20>", "<0x41>", "<0xE2>", "▁hello"]));
        // WordPiece (BERT) and non-byte-level text with characters from the byte table's range stay as written.
        Assert.Equal(["[CLS]", "play", "##ing", "ą", "ż", "[SEP]"], TokenLabels.Labels(["[CLS]", "play", "##ing", "ą", "ż", "[SEP]"]));
        // Real whitespace and control characters become visible marks.
        Assert.Equal(["␣the", "␣␣", "↵", "a⇥b", "\\r", "\\x07", "⍽", "\\u200B"], TokenLabels.Labels([" the", "  ", "\n", "a\tb", "\r", "\a", "\u00A0", "\u200B"]));
    }

    [Fact]
    public void AJoinerInsideAnEmojiSequenceIsKeptAndEscapedElsewhere()
    {
        // 👩‍💻 (woman, ZWJ, laptop) and a family are one emoji each: their joiners stay so the font draws the joined glyph.
        Assert.Equal("👩\u200D💻", TokenLabels.Label("👩\u200D💻"));
        Assert.Equal("␣👨\u200D👩\u200D👧", TokenLabels.Label("▁👨\u200D👩\u200D👧"));
        // An England flag: black flag and tag characters.
        const string england = "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F";
        Assert.Equal(england, TokenLabels.Label(england, maxChars: 0));
        // A joiner alone, between letters, or left dangling after an emoji (a sequence split across tokens) is shown.
        Assert.Equal(["\\u200D", "a\\u200Db", "👩\\u200D", "\\u200D💻", "\\u200C"], TokenLabels.Labels(["\u200D", "a\u200Db", "👩\u200D", "\u200D💻", "\u200C"]));
    }

    [Fact]
    public void LongLabelsAreCutWithAnEllipsis()
    {
        Assert.Equal("supercalifr…", TokenLabels.Label("supercalifragilistic"));
        Assert.Equal(TokenLabels.MaxChars, TokenLabels.Label(new string('x', 40)).Length);
        Assert.Equal("exactlytwelv", TokenLabels.Label("exactlytwelv"));
        Assert.Equal("␣extraordin…", TokenLabels.Label("▁extraordinarily"));
        Assert.Equal("▁extraordinarily".Length, TokenLabels.Label("▁extraordinarily", maxChars: 0).Length);
        // Cut by text element: a combining accent stays with its letter.
        Assert.Equal("abcdefghije\u0301…", TokenLabels.Label("abcdefghije\u0301klmnop"));
        // Every mark is a glyph of the pinned font.
        Assert.True(FigureFont.Typeface.ContainsGlyphs(TokenLabels.SpaceMark + TokenLabels.NewlineMark + TokenLabels.TabMark
            + TokenLabels.NoBreakSpaceMark + TokenLabels.Ellipsis));
    }
}
