namespace Tta.Metrics.Words;

// TEMPORARY stand-in until the math branch lands (not to be committed).
public static class TokenSpans
{
    public static IReadOnlyList<(int Start, int End)?> Locate(string text, IReadOnlyList<string> tokens) => new (int Start, int End)?[tokens.Count];
}
