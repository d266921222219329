namespace Tta.Tokenizers;

/// <summary>Token ids as the model sees them and the token strings used as axis labels.</summary>
public sealed record TokenizedText(long[] Ids, string[] Tokens);

public interface ITextTokenizer
{
    TokenizedText Encode(string text);
}

/// <summary>Picks the tokenizer a checkpoint directory ships.</summary>
public static class TokenizerLoader
{
    public static ITextTokenizer Load(string checkpointDir)
    {
        if (File.Exists(Path.Combine(checkpointDir, "vocab.txt"))) return BertWordPieceTokenizer.Load(checkpointDir);
        throw new NotSupportedException($"{checkpointDir}: no tokenizer this version can read (expected vocab.txt)");
    }
}
