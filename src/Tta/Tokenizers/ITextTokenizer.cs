namespace Tta.Tokenizers;

public interface ITextTokenizer
{
    TokenizedText Encode(string text);
}
