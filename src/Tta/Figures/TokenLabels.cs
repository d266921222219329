using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Tta.Figures;

/// <summary>
/// Turns tokenizer symbols into text a reader can read, for axis labels, legends and pages: SentencePiece's word
/// marker <c>▁</c> becomes a space, byte-level BPE tokens (GPT-2, Falcon: <c>Ġ</c> for a space, <c>Ċ</c> for a
/// newline, <c>Ã©</c> for é) are decoded back to UTF-8 where their bytes form complete characters, and byte-fallback
/// tokens (<c>&lt;0x0A&gt;</c>) become their character when it is ASCII. Whitespace and control characters are then
/// shown as visible marks (<see cref="SpaceMark"/>, <see cref="NewlineMark"/>, <see cref="TabMark"/>, <c>\xNN</c>),
/// and labels longer than the limit are cut with <see cref="Ellipsis"/>. Every mark is a glyph of the pinned font
/// (DejaVu Sans); other scripts and emoji are drawn with fallback fonts (<see cref="LabelText"/>). Special tokens (<c>[CLS]</c>, <c>&lt;/s&gt;</c>, <c>&lt;|endoftext|&gt;</c>) stay as they are.
/// </summary>
public static partial class TokenLabels
{
    /// <summary>Default longest label, in text elements, the ellipsis included.</summary>
    public const int MaxChars = 12;

    public const string SpaceMark = "␣";      // U+2423 OPEN BOX
    public const string NoBreakSpaceMark = "⍽"; // U+237D SHOULDERED OPEN BOX
    public const string NewlineMark = "↵";    // U+21B5
    public const string TabMark = "⇥";        // U+21E5
    public const string Ellipsis = "…";

    /// <summary>SentencePiece's word-boundary marker (U+2581), which stands for a space.</summary>
    public const char SentencePieceSpace = '▁';

    /// <summary>
    /// Display labels of one tokenizer's tokens (a text's token sequence, or any tokens of the same vocabulary): whether
    /// they are byte-level BPE symbols is decided once for the whole list (<see cref="IsByteLevel"/>), then each token
    /// is made readable and cut to <paramref name="maxChars"/> text elements (0: never cut).
    /// </summary>
    public static string[] Labels(IReadOnlyList<string> tokens, int maxChars = MaxChars)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var byteLevel = IsByteLevel(tokens);
        var labels = new string[tokens.Count];
        for (var i = 0; i < labels.Length; i++)
            labels[i] = Cut(Readable(tokens[i] ?? "", byteLevel), maxChars);
        return labels;
    }

    /// <summary>The display label of a single token (byte-level decided from this token alone).</summary>
    public static string Label(string token, int maxChars = MaxChars) => Labels([token], maxChars)[0];

    /// <summary>
    /// Whether the tokens are byte-level BPE symbols: every character is one of the 256 characters GPT-2's
    /// byte-to-unicode table maps bytes to, and some token holds that table's space or newline symbol
    /// (<c>Ġ</c>, <c>Ċ</c>) — which any byte-level encoding of a text with more than one word does. Text in other
    /// vocabularies has <c>▁</c>, real spaces or characters outside the table, or lacks both symbols.
    /// </summary>
    public static bool IsByteLevel(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var marker = false;
        foreach (var token in tokens)
        {
            if (token is null) continue;
            foreach (var ch in token)
            {
                if (ch >= UnicodeToByte.Length || UnicodeToByte[ch] < 0) return false;
                if (ch is 'Ġ' or 'Ċ') marker = true;
            }
        }
        return marker;
    }

    /// <summary>
    /// The token as text with visible whitespace, not cut: decoded from byte-level symbols when
    /// <paramref name="byteLevel"/>, with SentencePiece's <c>▁</c> and byte-fallback tokens resolved.
    /// </summary>
    public static string Readable(string token, bool byteLevel)
    {
        ArgumentNullException.ThrowIfNull(token);
        string text;
        if (byteLevel)
        {
            text = DecodeBytes(token);
        }
        else if (ByteFallback().Match(token) is { Success: true } m)
        {
            var b = byte.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            text = b < 0x80 ? ((char)b).ToString() : token;
        }
        else
        {
            text = token.Replace(SentencePieceSpace, ' ');
        }
        return Visible(text);
    }

    /// <summary>Cuts to at most <paramref name="maxChars"/> text elements, the last being '…' when cut (0: never).</summary>
    public static string Cut(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (maxChars <= 0) return text;
        var elements = StringInfo.ParseCombiningCharacters(text);
        if (elements.Length <= maxChars) return text;
        return maxChars == 1 ? Ellipsis : text[..elements[maxChars - 1]] + Ellipsis;
    }

    /// <summary>
    /// Whitespace and control characters as visible marks; everything else unchanged. Inside an emoji sequence (a
    /// grapheme that starts with a pictograph) a zero-width joiner between two emoji and tag characters are kept, since
    /// they make one emoji (👩‍💻, subdivision flags); a joiner anywhere else, or at a sequence's end, is escaped.
    /// </summary>
    private static string Visible(string text)
    {
        var sb = new StringBuilder(text.Length + 4);
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            var element = elements.GetTextElement();
            Rune.DecodeFromUtf16(element, out var first, out _);
            var emoji = LabelText.IsPictographic(first.Value);
            var runes = element.EnumerateRunes().ToArray();
            for (var i = 0; i < runes.Length; i++)
            {
                var cp = runes[i].Value;
                if (emoji && i > 0 && (cp is >= 0xE0020 and <= 0xE007F || cp == 0x200D && i < runes.Length - 1))
                    sb.Append(runes[i].ToString());
                else
                    AppendVisible(sb, runes[i]);
            }
        }
        return sb.ToString();
    }

    private static void AppendVisible(StringBuilder sb, Rune rune)
    {
        switch (rune.Value)
        {
            case ' ': sb.Append(SpaceMark); break;
            case '\u00A0': sb.Append(NoBreakSpaceMark); break;
            case '\n': sb.Append(NewlineMark); break;
            case '\t': sb.Append(TabMark); break;
            case '\r': sb.Append("\\r"); break;
            default:
                var category = Rune.GetUnicodeCategory(rune);
                if (Rune.IsControl(rune) || category is UnicodeCategory.Format or UnicodeCategory.Surrogate)
                    sb.Append(rune.Value <= 0xFF
                        ? string.Create(CultureInfo.InvariantCulture, $"\\x{rune.Value:X2}")
                        : string.Create(CultureInfo.InvariantCulture, $"\\u{rune.Value:X4}"));
                else if (Rune.IsWhiteSpace(rune))
                    sb.Append(SpaceMark);
                else
                    sb.Append(rune.ToString());
                break;
        }
    }

    /// <summary>
    /// Byte-level symbols back to text: the bytes are decoded as UTF-8 where they form complete characters; a byte that
    /// does not (half of a character split across tokens) is shown as <c>\xNN</c>.
    /// </summary>
    private static string DecodeBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
            bytes[i] = (byte)UnicodeToByte[token[i]];
        var sb = new StringBuilder(token.Length);
        var span = bytes.AsSpan();
        while (!span.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(span, out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.Done)
                sb.Append(rune.ToString());
            else
                sb.Append(CultureInfo.InvariantCulture, $"\\x{span[0]:X2}");
            span = span[Math.Max(1, status == System.Buffers.OperationStatus.Done ? consumed : 1)..];
        }
        return sb.ToString();
    }

    /// <summary>
    /// The inverse of GPT-2's byte-to-unicode table (char → byte, −1 where the char is not in the table): printable
    /// bytes 33–126, 161–172 and 174–255 stand for themselves, the other 68 bytes (0–32, 127–160, 173) for U+0100
    /// onwards in byte order.
    /// </summary>
    private static readonly short[] UnicodeToByte = BuildUnicodeToByte();

    private static short[] BuildUnicodeToByte()
    {
        var map = new short[0x100 + 68];
        Array.Fill(map, (short)-1);
        var next = 0x100;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            map[printable ? b : next++] = (short)b;
        }
        return map;
    }

    [GeneratedRegex("^<0x([0-9A-Fa-f]{2})>$")]
    private static partial Regex ByteFallback();
}
