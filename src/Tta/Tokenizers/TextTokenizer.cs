namespace Tta.Tokenizers;

/// <summary>Token ids as the model sees them and the token strings used as axis labels.</summary>
public sealed record TokenizedText(long[] Ids, string[] Tokens);
