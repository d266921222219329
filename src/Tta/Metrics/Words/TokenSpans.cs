using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Tta.Tokenizers;

namespace Tta.Metrics.Words;

/// <summary>A span of characters (UTF-16 code units) of a text.</summary>
public readonly record struct CharSpan(int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>How token strings spell text: plain surfaces (WordPiece <c>##</c>, SentencePiece <c>▁</c>, <c>&lt;0xNN&gt;</c>
/// byte pieces) or GPT-2's byte-level alphabet (<c>Ġ</c>, <c>Ċ</c>, …: one character per UTF-8 byte).</summary>
public enum TokenSurfaces
{
    /// <summary>Whichever of the two matches more of the text's characters to token surfaces (plain on a tie).</summary>
    Auto,
    Plain,
    ByteLevel,
}

/// <summary>
/// Character spans of tokens in the text they came from. tta's tokenizers give token strings, not offsets, so each
/// token's surface is matched against the text, left to right. A surface is the token string with WordPiece's
/// leading <c>##</c> and a <c>&lt;/w&gt;</c> suffix removed, <c>▁</c> read as a space, <c>&lt;0xNN&gt;</c> read as the
/// byte NN, or (byte-level) each character read as its byte; consecutive tokens that each hold part of one character's
/// UTF-8 bytes are matched together and all get that character's span (bytes that never form a character, where a
/// vocabulary lacks a byte, make their tokens unknown tokens). Matching ignores whitespace, case and accents
/// (both sides lowercased, NFD-decomposed, combining marks and control characters removed), as the tokenizers'
/// normalizers may have (BERT uncased lowercases and strips accents). Compatibility forms (NFKC: ligatures,
/// full-width letters) are not folded: a token T5's normalizer changed that way finds no span. A token is matched where the previous one ended, or
/// else at the next place its surface occurs. Special tokens (<c>[CLS]</c>, <c>&lt;/s&gt;</c>, <c>&lt;|endoftext|&gt;</c>,
/// …), whitespace-only tokens, tokens made only of characters the matching ignores (a lone zero-width joiner or
/// variation selector) and tokens whose surface is not found get no span; unknown tokens (<c>[UNK]</c>,
/// <c>&lt;unk&gt;</c>) share the text skipped between their neighbours' spans (one word or one character each where
/// the counts agree). Spans never start or end in
/// whitespace.
/// </summary>
public static partial class TokenSpans
{
    private static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    [GeneratedRegex(@"^(\[[A-Z_]+\]|<\|[^|]*\|>|</?(s|pad|mask|cls|sep|bos|eos)>|<extra_id_\d+>)$")]
    private static partial Regex SpecialToken();

    [GeneratedRegex(@"^(\[UNK\]|<unk>|<\|unk\|>)$")]
    private static partial Regex UnknownToken();

    [GeneratedRegex(@"^<0x([0-9A-Fa-f]{2})>$")]
    private static partial Regex BytePiece();

    /// <summary>Each token's span in <paramref name="text"/>, null where it has none (see the class summary).</summary>
    public static CharSpan?[] Locate(string text, TokenizedText tokens, TokenSurfaces surfaces = TokenSurfaces.Auto)
    {
        var normalized = NormalizedText.Of(text);
        if (surfaces != TokenSurfaces.Auto) return Match(normalized, tokens.Tokens, surfaces == TokenSurfaces.ByteLevel).Spans;
        var plain = Match(normalized, tokens.Tokens, byteLevel: false);
        var byteLevel = Match(normalized, tokens.Tokens, byteLevel: true);
        return byteLevel.Matched > plain.Matched ? byteLevel.Spans : plain.Spans;
    }

    private enum Kind { Text, Special, Unknown }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The spans, and how many normalized code units token surfaces matched (gap-filled ones not counted).</summary>
    private static (CharSpan?[] Spans, int Matched) Match(NormalizedText text, string[] tokens, bool byteLevel)
    {
        var spans = new CharSpan?[tokens.Length];
        var cursor = 0;
        var matched = 0;
        var unknown = new List<int>();
        var group = new List<int>();
        var bytes = new List<byte>();

        // Tokens holding bytes that never form a character (a byte the vocabulary lacks was dropped) are treated as
        // unknown tokens: they get the text skipped before the next match.
        void AbandonGroup()
        {
            unknown.AddRange(group);
            group.Clear();
            bytes.Clear();
        }

        for (var t = 0; t < tokens.Length; t++)
        {
            var kind = Classify(tokens[t]);
            var tokenBytes = kind == Kind.Text ? byteLevel ? ByteLevelBytes(tokens[t]) : PlainBytes(tokens[t]) : null;
            if (tokenBytes is not { Length: > 0 } || (group.Count > 0 && !IsContinuation(tokenBytes[0])))
                AbandonGroup();
            if (tokenBytes is not { Length: > 0 })
            {
                if (kind == Kind.Unknown) unknown.Add(t);
                continue;
            }
            group.Add(t);
            bytes.AddRange(tokenBytes);
            if (!EndsOnCharacter(bytes)) continue;
            string decoded;
            try
            {
                decoded = StrictUtf8.GetString([.. bytes]);
            }
            catch (DecoderFallbackException)
            {
                AbandonGroup();
                continue;
            }
            var surface = NormalizedText.Core(decoded);
            if (surface.Length > 0)
            {
                var at = text.Normalized.StartsWith(surface, cursor) ? cursor : text.Normalized.IndexOf(surface, cursor, StringComparison.Ordinal);
                if (at >= 0)
                {
                    if (at > cursor) FillGap(spans, unknown, text, cursor, at);
                    unknown.Clear();
                    var span = text.Original(at, at + surface.Length);
                    foreach (var g in group) spans[g] = span;
                    cursor = at + surface.Length;
                    matched += surface.Length;
                }
            }
            group.Clear();
            bytes.Clear();
        }
        AbandonGroup();
        if (cursor < text.Normalized.Length) FillGap(spans, unknown, text, cursor, text.Normalized.Length);
        return (spans, matched);
    }

    /// <summary>
    /// Gives unknown tokens the skipped normalized units [from, to): one whitespace-separated piece each when there are
    /// as many pieces as tokens, else one character each when there are as many characters, else all of it each
    /// (BERT gives one [UNK] per unknown word and per unknown punctuation character).
    /// </summary>
    private static void FillGap(CharSpan?[] spans, List<int> unknown, NormalizedText text, int from, int to)
    {
        var whole = text.Original(from, to);
        foreach (var pieces in new[] { text.Pieces(from, to, byWord: true), text.Pieces(from, to, byWord: false) })
        {
            if (pieces.Count != unknown.Count) continue;
            for (var i = 0; i < unknown.Count; i++) spans[unknown[i]] = pieces[i];
            return;
        }
        foreach (var u in unknown) spans[u] = whole;
    }

    private static bool IsContinuation(byte b) => (b & 0xC0) == 0x80;

    private static Kind Classify(string token) =>
        UnknownToken().IsMatch(token) ? Kind.Unknown : SpecialToken().IsMatch(token) ? Kind.Special : Kind.Text;

    private static byte[]? PlainBytes(string token)
    {
        if (BytePiece().Match(token) is { Success: true } m) return [byte.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)];
        var s = token;
        if (s.Length > 2 && s.StartsWith("##", StringComparison.Ordinal)) s = s[2..];
        if (s.Length > 4 && s.EndsWith("</w>", StringComparison.Ordinal)) s = s[..^4];
        return Encoding.UTF8.GetBytes(s.Replace('▁', ' '));
    }

    /// <summary>The bytes a byte-level token stands for; null if a character is outside GPT-2's byte alphabet.</summary>
    private static byte[]? ByteLevelBytes(string token)
    {
        var result = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out var b)) return null;
            result[i] = b;
        }
        return result;
    }

    /// <summary>True when the bytes end on a UTF-8 character boundary (the last sequence is complete).</summary>
    private static bool EndsOnCharacter(List<byte> bytes)
    {
        // Walk back over at most three continuation bytes to the last lead byte.
        var i = bytes.Count - 1;
        var continuation = 0;
        while (i >= 0 && continuation < 4 && IsContinuation(bytes[i]))
        {
            i--;
            continuation++;
        }
        if (i < 0) return true; // only continuation bytes: invalid, and strict decoding says so
        var lead = bytes[i];
        var needed = lead < 0x80 ? 0 : (lead & 0xE0) == 0xC0 ? 1 : (lead & 0xF0) == 0xE0 ? 2 : (lead & 0xF8) == 0xF0 ? 3 : 0;
        return continuation >= needed;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (var b = 0; b < 256; b++) map[BpeModel.ByteToChar[b]] = (byte)b;
        return map;
    }

    /// <summary>
    /// The text with each character reduced to its <see cref="Core"/> (whitespace gone), with the original span of every normalized code unit.
    /// </summary>
    private sealed class NormalizedText
    {
        private readonly List<int> starts = [];
        private readonly List<int> ends = [];

        private NormalizedText(string text)
        {
            var builder = new StringBuilder(text.Length);
            var i = 0;
            foreach (var rune in text.EnumerateRunes())
            {
                var length = rune.Utf16SequenceLength;
                var core = Core(rune.ToString());
                builder.Append(core);
                for (var k = 0; k < core.Length; k++)
                {
                    starts.Add(i);
                    ends.Add(i + length);
                }
                i += length;
            }
            Normalized = builder.ToString();
        }

        public string Normalized { get; }

        public static NormalizedText Of(string text) => new(text);

        /// <summary>
        /// The original spans of normalized code units [from, to), split where the original text has characters in
        /// between (whitespace) when <paramref name="byWord"/>, else per original character.
        /// </summary>
        public List<CharSpan> Pieces(int from, int to, bool byWord)
        {
            var pieces = new List<CharSpan>();
            var first = from;
            for (var u = from + 1; u <= to; u++)
            {
                if (u < to && (starts[u] == starts[u - 1] || (byWord && starts[u] == ends[u - 1]))) continue;
                pieces.Add(Original(first, u));
                first = u;
            }
            return pieces;
        }

        /// <summary>The original span of normalized code units [from, to).</summary>
        public CharSpan Original(int from, int to) => new(starts[from], ends[to - 1] - starts[from]);

        /// <summary>
        /// Lowercased (Rust's <c>to_lowercase</c>), canonically decomposed (NFD), without combining marks, whitespace and
        /// the characters BERT's clean_text drops; Hugging Face's Unicode tables (.NET runs here without ICU).
        /// </summary>
        public static string Core(string s)
        {
            var lower = new StringBuilder(s.Length);
            foreach (var rune in s.EnumerateRunes()) HuggingFaceUnicode.AppendLowercase(rune.Value, lower);
            var builder = new StringBuilder(lower.Length);
            foreach (var rune in HuggingFaceUnicode.Nfd(lower.ToString()).EnumerateRunes())
            {
                if (Rune.IsWhiteSpace(rune) || HuggingFaceUnicode.Is(rune.Value, Dropped)) continue;
                HuggingFaceUnicode.AppendCodePoint(builder, rune.Value);
            }
            return builder.ToString();
        }

        private const HuggingFaceCharClass Dropped = HuggingFaceCharClass.WhiteSpace | HuggingFaceCharClass.NonspacingMark
            | HuggingFaceCharClass.CombiningMark | HuggingFaceCharClass.CleanTextRemoves;
    }
}

file static class StringExtensions
{
    public static bool StartsWith(this string s, string value, int at) =>
        at + value.Length <= s.Length && string.CompareOrdinal(s, at, value, 0, value.Length) == 0;
}
