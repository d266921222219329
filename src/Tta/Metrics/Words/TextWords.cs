using Tta.Store;

namespace Tta.Metrics.Words;

/// <summary>
/// A text's words and the tokens in each: a word is a maximal run of letters, digits, combining marks and
/// underscores, or any other single non-space character (punctuation, a symbol, an emoji), as BERT's and GPT-2's
/// pre-tokenizers split; a token
/// belongs to the word its character span (<see cref="TokenSpans"/>) starts in; tokens with no span (special tokens)
/// belong to none. The word-level rows of CKA across tokenizers and the word types of self-similarity.
/// </summary>
public static class TextWords
{
    /// <summary>The words of <paramref name="text"/> that hold at least one of <paramref name="tokens"/>, in order, each with its tokens' indices.</summary>
    public static IReadOnlyList<Word> Of(string text, IReadOnlyList<string> tokens)
    {
        var spans = TokenSpans.Locate(text, tokens);
        var words = WordRanges(text);
        var tokensOf = new List<int>[words.Count];
        var w = 0;
        for (var t = 0; t < spans.Count; t++)
        {
            if (spans[t] is not { } span) continue;
            while (w < words.Count && words[w].End <= span.Start) w++;
            if (w == words.Count) break;
            if (span.Start < words[w].Start) continue; // starts in white space: not in a word
            (tokensOf[w] ??= []).Add(t);
        }
        return [.. words.Select((r, i) => (r, i)).Where(x => tokensOf[x.i] is not null)
            .Select(x => new Word(text[x.r.Start..x.r.End], x.r.Start, [.. tokensOf[x.i]]))];
    }

    /// <summary>The words both tokenizations of <paramref name="text"/> cover, with each side's tokens; the others are counted as dropped.</summary>
    public static WordAlignment Align(string text, IReadOnlyList<string> tokensA, IReadOnlyList<string> tokensB)
    {
        var (a, b) = (Of(text, tokensA), Of(text, tokensB));
        var byStart = b.ToDictionary(x => x.Start);
        var pairs = a.Where(x => byStart.ContainsKey(x.Start)).Select(x => new AlignedWord(x.Text, x.Start, x.Tokens, byStart[x.Start].Tokens)).ToList();
        var all = a.Select(x => x.Start).Union(b.Select(x => x.Start)).Count();
        return new WordAlignment(pairs, all - pairs.Count);
    }

    /// <summary>A word's row: the mean of its tokens' rows of <paramref name="block"/>, in float64.</summary>
    public static float[] Pool(VectorBlock block, IReadOnlyList<int> tokens)
    {
        var sum = new double[block.Dim];
        foreach (var t in tokens)
        {
            var row = block.Row(t);
            for (var d = 0; d < sum.Length; d++) sum[d] += row[d];
        }
        return [.. sum.Select(s => (float)(s / tokens.Count))];
    }

    /// <summary>Each word's rows stacked (words × dim), row-major.</summary>
    public static float[] Pool(VectorBlock block, IReadOnlyList<int[]> words)
    {
        var result = new float[words.Count * block.Dim];
        for (var w = 0; w < words.Count; w++) Pool(block, words[w]).CopyTo(result.AsSpan(w * block.Dim));
        return result;
    }

    /// <summary>The rule, in words, for captions and params.</summary>
    public const string Rule = "words: maximal runs of letters, digits and marks, or single other characters (punctuation, symbols)";

    private static List<(int Start, int End)> WordRanges(string text)
    {
        var ranges = new List<(int Start, int End)>();
        var i = 0;
        while (i < text.Length)
        {
            var rune = System.Text.Rune.GetRuneAt(text, i);
            if (System.Text.Rune.IsWhiteSpace(rune))
            {
                i += rune.Utf16SequenceLength;
                continue;
            }
            var start = i;
            if (IsWordRune(rune))
                while (i < text.Length && IsWordRune(System.Text.Rune.GetRuneAt(text, i))) i += System.Text.Rune.GetRuneAt(text, i).Utf16SequenceLength;
            else
                i += rune.Utf16SequenceLength;
            ranges.Add((start, i));
        }
        return ranges;
    }

    private static bool IsWordRune(System.Text.Rune r) =>
        System.Text.Rune.IsLetterOrDigit(r) || r.Value == '_'
        || System.Text.Rune.GetUnicodeCategory(r) is System.Globalization.UnicodeCategory.NonSpacingMark
            or System.Globalization.UnicodeCategory.SpacingCombiningMark or System.Globalization.UnicodeCategory.EnclosingMark;
}

/// <summary>One word: its text, where it starts in the text (UTF-16 index) and its tokens' indices.</summary>
public sealed record Word(string Text, int Start, int[] Tokens);

/// <summary>A word both tokenizations cover, and its tokens on each side.</summary>
public sealed record AlignedWord(string Text, int Start, int[] TokensA, int[] TokensB);

/// <summary>The words both tokenizations cover, in order, and how many words only one side covers.</summary>
public sealed record WordAlignment(IReadOnlyList<AlignedWord> Words, int Dropped)
{
    public int Count => Words.Count;
}
