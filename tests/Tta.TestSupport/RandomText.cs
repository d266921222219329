using System.Text;

namespace Tta.Tests;

/// <summary>
/// Seeded random strings that go where tokenizers differ: every script, emoji with ZWJ, skin tones, flags and tags,
/// combining marks (stacked, reordered by NFD), control, format and whitespace characters, private-use, noncharacters
/// and unassigned code points, digits and punctuation of many scripts, contractions, special-token text, long words.
/// Only Unicode scalar values (no lone surrogates): the reference gets the same text.
/// </summary>
public sealed class RandomText(int seed)
{
    private readonly Random random = new(seed);

    private static readonly (int From, int To)[][] Pools =
    [
        [(0x20, 0x7E)], // ASCII
        [(0x41, 0x5A), (0x61, 0x7A)], // ASCII letters
        [(0xC0, 0x24F), (0x1E00, 0x1EFF)], // Latin with precomposed accents
        [(0x300, 0x36F), (0x483, 0x489), (0x591, 0x5C7), (0x610, 0x61A), (0x64B, 0x65F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF),
            (0x20D0, 0x20FF), (0xFE20, 0xFE2F), (0x1D165, 0x1D169), (0x1D16D, 0x1D172)], // combining marks
        [(0x370, 0x3FF), (0x1F00, 0x1FFF)], // Greek
        [(0x400, 0x52F)], // Cyrillic
        [(0x531, 0x58F), (0x10A0, 0x10FF)], // Armenian, Georgian
        [(0x5D0, 0x5EA), (0x591, 0x5C7)], // Hebrew with points
        [(0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)], // Arabic
        [(0x900, 0x97F), (0x980, 0x9FF), (0xA00, 0xAFF), (0xB80, 0xBFF), (0xD00, 0xD7F)], // Indic
        [(0xE00, 0xE7F), (0xE80, 0xEFF), (0xF00, 0xFFF), (0x1000, 0x109F), (0x1780, 0x17FF)], // Thai, Lao, Tibetan, Myanmar, Khmer
        [(0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7A3)], // Hangul
        [(0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF65, 0xFF9F)], // kana
        [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF), (0x2A700, 0x2CEAF), (0x2F800, 0x2FA1F),
            (0x30000, 0x3134F)], // CJK, with the blocks at the edges of BERT's ranges
        [(0xFF01, 0xFF5E), (0xFFE0, 0xFFEE), (0x2460, 0x24FF), (0x3200, 0x33FF), (0xFB00, 0xFB4F)], // compatibility forms
        [(0x1D400, 0x1D7FF), (0x1E900, 0x1E95F), (0x10400, 0x1044F), (0x16E40, 0x16E9F)], // astral letters
        [(0x30, 0x39), (0x660, 0x669), (0x6F0, 0x6F9), (0x966, 0x96F), (0xFF10, 0xFF19), (0xB2, 0xB3), (0xB9, 0xB9),
            (0xBC, 0xBE), (0x2150, 0x218B), (0x2070, 0x209F), (0x1D7CE, 0x1D7FF), (0x10D40, 0x10D49), (0x11DE0, 0x11DE9)], // numbers
        [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E), (0xA1, 0xBF), (0x2010, 0x205E), (0x2E00, 0x2E5D),
            (0x3001, 0x303F), (0x55A, 0x55F), (0x61D, 0x61F), (0x166D, 0x166E), (0x1734, 0x1736), (0x11944, 0x11946)], // punctuation
        [(0x20A0, 0x20C1), (0x2190, 0x23FF), (0x2500, 0x27BF), (0x2900, 0x2BFF), (0x1F000, 0x1F0FF)], // symbols
        [(0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF), (0x2600, 0x27BF)], // emoji
        [(0x0, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891),
            (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
            (0x110BD, 0x110BD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F)], // control, format
        [(0x9, 0xD), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E), (0x2000, 0x200A),
            (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)], // whitespace
        [(0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD), (0xFDD0, 0xFDEF), (0xFFFE, 0xFFFF), (0x1FFFE, 0x1FFFF),
            (0x10FFFE, 0x10FFFF), (0xFFFD, 0xFFFD)], // private use, noncharacters, U+FFFD
        [(0x378, 0x379), (0x380, 0x383), (0x58B, 0x58C), (0x2B820, 0x2B91F), (0x2FE0, 0x2FEF), (0x1C89, 0x1C8A), (0xA7CB, 0xA7DC),
            (0x16EA0, 0x16EDF), (0x40000, 0xDFFFF), (0x323B0, 0x3FFFF)], // unassigned (or assigned only lately)
        [(0x0, 0x10FFFF)], // anything at all
    ];

    private static readonly string[] Fragments =
    [
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "n't", "<|endoftext|>", "[MASK]", "[CLS]", "[SEP]", "[UNK]",
        "[PAD]", "</s>", "<pad>", "<unk>", "\u2581", "\r\n", "  ", "\t\t", " \n ", "\u200D", "\uFE0F", "\u20E3",
        "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F44D\U0001F3FD", "\U0001F1E9\U0001F1EA", "1\uFE0F\u20E3",
        "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "e\u0301", "a\u0301\u0323\u0308", "\u0130",
        "\u1E9E", "\u03A3\u03C3\u03C2", "\uFB01", "\u2126", "\u212B", "\uAC00\u11A8", "\u1100\u1161", "x\u0345\u0301", "https://",
        "==", "...", "---", "\u00E9t\u00E9", "na\u00EFve", "\u0915\u094D\u0937", "\u0E01\u0E33",
    ];

    /// <summary>One random string: chunks of pools and fragments, now and then a long word.</summary>
    public string Next()
    {
        var sb = new StringBuilder();
        var roll = random.Next(100);
        if (roll < 3) return LongWord(random.Next(100, 3000));
        var chunks = random.Next(1, roll < 10 ? 60 : 16);
        for (var c = 0; c < chunks; c++)
        {
            if (random.Next(5) == 0) sb.Append(Fragments[random.Next(Fragments.Length)]);
            else
            {
                var pool = Pools[random.Next(Pools.Length)];
                var length = random.Next(1, 9);
                for (var k = 0; k < length; k++) AppendScalar(sb, Pick(pool));
            }
            switch (random.Next(6))
            {
                case 0: break;
                case 1: sb.Append("  "); break;
                case 2: sb.Append(random.Next(3) == 0 ? '\n' : '\t'); break;
                default: sb.Append(' '); break;
            }
        }
        return sb.ToString();
    }

    private string LongWord(int length)
    {
        var sb = new StringBuilder(length);
        var pool = Pools[random.Next(3) switch { 0 => 1, 1 => 2, _ => 15 }];
        var alphabet = random.Next(3) == 0 ? "ab" : null; // long runs of few letters stress the merges
        for (var i = 0; i < length; i++)
        {
            if (alphabet is not null) sb.Append(alphabet[random.Next(alphabet.Length)]);
            else AppendScalar(sb, Pick(pool));
        }
        return sb.ToString();
    }

    private int Pick((int From, int To)[] pool)
    {
        var total = pool.Sum(r => (long)(r.To - r.From + 1));
        var at = random.NextInt64(total);
        foreach (var (from, to) in pool)
        {
            if (at <= to - from) return from + (int)at;
            at -= to - from + 1;
        }
        return pool[0].From;
    }

    private static void AppendScalar(StringBuilder sb, int cp)
    {
        if (cp is >= 0xD800 and <= 0xDFFF) cp = 0xFFFD; // surrogate code points are not scalar values
        sb.Append(char.ConvertFromUtf32(cp));
    }
}
