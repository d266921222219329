namespace Tta.Tokenizers;

public interface ITextTokenizer
{
    TokenizedText Encode(string text);

    /// <summary>
    /// Every token string by id (index = id), added and special tokens included, as the tokenizer's own
    /// <c>id_to_token</c> gives it (raw: byte-level symbols, <c>▁</c>, <c>##</c> as in the file); null where no token
    /// has the id.
    /// </summary>
    IReadOnlyList<string?> Vocabulary { get; }
}
