namespace Tta.Tokenizers;

/// <summary>
/// Picks the tokenizer a checkpoint directory ships: <c>tokenizer.json</c> (Hugging Face tokenizers) if present, else
/// <c>spiece.model</c> (SentencePiece, T5 style with <c>&lt;/s&gt;</c> appended), else <c>vocab.txt</c> (BERT WordPiece).
/// </summary>
public static class TokenizerLoader
{
    /// <summary>The tokenizer file <see cref="Load"/> reads from <paramref name="checkpointDir"/>, or null if it has none.</summary>
    public static string? FileOf(string checkpointDir) =>
        new[] { "tokenizer.json", "spiece.model", "vocab.txt" }.Select(f => Path.Combine(checkpointDir, f)).FirstOrDefault(File.Exists);

    public static ITextTokenizer Load(string checkpointDir)
    {
        if (File.Exists(Path.Combine(checkpointDir, "tokenizer.json"))) return HuggingFaceTokenizer.Load(checkpointDir);
        if (File.Exists(Path.Combine(checkpointDir, "spiece.model")))
            return SentencePieceTokenizer.Load(Path.Combine(checkpointDir, "spiece.model"));
        if (File.Exists(Path.Combine(checkpointDir, "vocab.txt"))) return BertWordPieceTokenizer.Load(checkpointDir);
        throw new NotSupportedException(
            $"{checkpointDir}: no tokenizer this version can read (expected tokenizer.json, spiece.model or vocab.txt)");
    }
}
