using System.Buffers.Binary;
using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// SentencePiece's precompiled character map (<c>NormalizerSpec.precompiled_charsmap</c>, also the
/// <c>Precompiled</c> normalizer of tokenizer.json): a little-endian uint32 trie size, a darts-clone double-array trie
/// over UTF-8 byte strings, then a blob of NUL-terminated replacement strings the trie values point into. The
/// <c>nmt_nfkc</c> map encodes NFKC plus SentencePiece's clean-ups, which is how NFKC is applied here
/// (<see cref="string.Normalize()"/> is a no-op under InvariantGlobalization).
/// </summary>
public sealed class PrecompiledCharsMap
{
    private readonly uint[] units;
    private readonly byte[] normalized;

    public PrecompiledCharsMap(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4) throw new InvalidDataException("precompiled charsmap: too short");
        var trieSize = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieSize % 4 != 0 || trieSize > blob.Length - 4) throw new InvalidDataException("precompiled charsmap: bad trie size");
        units = new uint[trieSize / 4];
        for (var i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob[(4 + 4 * i)..]);
        normalized = blob[(4 + (int)trieSize)..].ToArray();
    }

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    private static uint Value(uint unit) => unit & ((1u << 31) - 1);
    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);
    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    /// <summary>Every key of the trie that is a prefix of <paramref name="key"/>: (value, key length), shortest first.</summary>
    public List<(int Value, int Length)> CommonPrefixSearch(ReadOnlySpan<byte> key)
    {
        var results = new List<(int, int)>();
        if (units.Length == 0) return results;
        uint pos = 0;
        var unit = units[pos];
        pos ^= Offset(unit);
        for (var i = 0; i < key.Length; i++)
        {
            pos ^= key[i];
            if (pos >= units.Length) break;
            unit = units[pos];
            if (Label(unit) != key[i]) break;
            pos ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (pos >= units.Length) break;
                results.Add(((int)Value(units[pos]), i + 1));
            }
        }
        return results;
    }

    /// <summary>The replacement string (UTF-8 bytes) stored at <paramref name="offset"/> of the blob.</summary>
    public ReadOnlySpan<byte> Replacement(int offset)
    {
        if (offset < 0 || offset >= normalized.Length) throw new InvalidDataException("precompiled charsmap: value out of range");
        var rest = normalized.AsSpan(offset);
        var end = rest.IndexOf((byte)0);
        return end < 0 ? rest : rest[..end];
    }

    /// <summary>
    /// SentencePiece's rule: the longest key that prefixes <paramref name="input"/>, as (replacement bytes, bytes consumed);
    /// null when nothing matches.
    /// </summary>
    public (byte[] Replacement, int Consumed)? LongestMatch(ReadOnlySpan<byte> input)
    {
        var matches = CommonPrefixSearch(input);
        if (matches.Count == 0) return null;
        var (value, length) = matches[^1];
        return (Replacement(value).ToArray(), length);
    }

    /// <summary>
    /// How many leading code points of <see cref="NormalizeLikeTokenizers"/>'s output tokenizers aligns with the
    /// input's first character: the replacement of the first grapheme (its first character's, when looked up one by
    /// one); never 0 for non-empty output, since tokenizers aligns the first output character with the first input
    /// character even when that one's replacement is empty.
    /// </summary>
    public int AlignedAtStart(string text)
    {
        if (text.Length == 0) return 0;
        var len = Math.Max(1, System.Globalization.StringInfo.GetNextTextElementLength(text, 0));
        var bytes = Encoding.UTF8.GetBytes(text[..len]);
        int produced;
        if (bytes.Length < 6 && CommonPrefixSearch(bytes) is [var (value, _), ..]) produced = CountRunes(Replacement(value));
        else
        {
            var first = Encoding.UTF8.GetBytes(char.IsSurrogatePair(text, 0) ? text[..2] : text[..1]);
            produced = CommonPrefixSearch(first) is [var (v, _), ..] ? CountRunes(Replacement(v)) : 1;
        }
        return Math.Max(1, produced);

        static int CountRunes(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetCharCount(utf8) is var n && n == 0 ? 0
            : Encoding.UTF8.GetString(utf8).EnumerateRunes().Count();
    }

    /// <summary>
    /// The tokenizers library's <c>Precompiled</c> normalizer: per grapheme cluster (under 6 UTF-8 bytes) the first
    /// (shortest) trie key that prefixes it replaces the whole cluster; otherwise each character is looked up alone.
    /// </summary>
    public string NormalizeLikeTokenizers(string text)
    {
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var len = System.Globalization.StringInfo.GetNextTextElementLength(text, i);
            if (len <= 0) len = 1;
            var grapheme = text.Substring(i, len);
            i += len;
            var bytes = Encoding.UTF8.GetBytes(grapheme);
            if (bytes.Length < 6)
            {
                var m = CommonPrefixSearch(bytes);
                if (m.Count > 0)
                {
                    sb.Append(Encoding.UTF8.GetString(Replacement(m[0].Value)));
                    continue;
                }
            }
            foreach (var rune in grapheme.EnumerateRunes())
            {
                var s = rune.ToString();
                var m = CommonPrefixSearch(Encoding.UTF8.GetBytes(s));
                sb.Append(m.Count > 0 ? Encoding.UTF8.GetString(Replacement(m[0].Value)) : s);
            }
        }
        return sb.ToString();
    }
}
