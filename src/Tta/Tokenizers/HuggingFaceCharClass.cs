namespace Tta.Tokenizers;

/// <summary>
/// Character classes as Hugging Face's tokenizers sees them (one flag per table of <see cref="HuggingFaceUnicodeData"/>).
/// </summary>
[Flags]
public enum HuggingFaceCharClass : ushort
{
    None = 0,
    /// <summary>BertNormalizer clean_text drops it (NUL, U+FFFD, unicode_categories "other" but tab/LF/CR).</summary>
    CleanTextRemoves = 1 << 0,
    /// <summary>BertNormalizer clean_text makes it a space.</summary>
    CleanTextSpace = 1 << 1,
    /// <summary>BertNormalizer handle_chinese_chars isolates it.</summary>
    Chinese = 1 << 2,
    /// <summary>Rust <c>char::is_whitespace</c>.</summary>
    WhiteSpace = 1 << 3,
    /// <summary>Rust <c>char::is_numeric</c>.</summary>
    Numeric = 1 << 4,
    /// <summary>ASCII punctuation or unicode_categories punctuation (BERT, Punctuation pre-tokenizer).</summary>
    Punctuation = 1 << 5,
    /// <summary>unicode_categories Mn (BERT strip_accents).</summary>
    NonspacingMark = 1 << 6,
    /// <summary>unicode-normalization-alignments combining mark (StripAccents).</summary>
    CombiningMark = 1 << 7,
    /// <summary>The regex crate's <c>\w</c>.</summary>
    RegexWord = 1 << 8,
    /// <summary>The regex crate's <c>\s</c>.</summary>
    RegexSpace = 1 << 9,
    /// <summary>Oniguruma's <c>\p{L}</c> (ByteLevel's GPT-2 pattern).</summary>
    OnigLetter = 1 << 10,
    /// <summary>Oniguruma's <c>\p{N}</c>.</summary>
    OnigNumber = 1 << 11,
    /// <summary>Oniguruma's <c>\s</c>.</summary>
    OnigSpace = 1 << 12,
    /// <summary>A non-zero canonical combining class: NFD's canonical ordering moves it.</summary>
    NonStarter = 1 << 13,
}
