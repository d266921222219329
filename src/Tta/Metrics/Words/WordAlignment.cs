using System.Text;

namespace Tta.Metrics.Words;

/// <summary>A word of a text and the tokens of each tokenization whose span starts in it.</summary>
public sealed record AlignedWord(CharSpan Span, string Text, int[] TokensA, int[] TokensB);

/// <summary>
/// Aligns two tokenizations of one text on words, so that models with different tokenizers can be compared row for
/// row. The rule, as the CKA caption states it: words are maximal runs of non-space characters; each word's vector is
/// the mean of the sub-tokens whose span starts in it. Token spans come from <see cref="TokenSpans.Locate"/>; a word
/// is kept when both tokenizations have at least one token starting in it.
/// </summary>
public static class WordAlignment
{
    /// <summary>The rule in one sentence, for captions.</summary>
    public const string Rule = "words: maximal runs of non-space characters; each word's vector is the mean of the sub-tokens whose span starts in it";

    /// <summary>The words of <paramref name="text"/>: maximal runs of non-whitespace characters (Unicode White_Space).</summary>
    public static IReadOnlyList<CharSpan> Words(string text)
    {
        var words = new List<CharSpan>();
        var start = -1;
        var i = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                if (start >= 0) words.Add(new CharSpan(start, i - start));
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
            i += rune.Utf16SequenceLength;
        }
        if (start >= 0) words.Add(new CharSpan(start, i - start));
        return words;
    }

    /// <summary>The words both tokenizations cover, in text order, with the tokens of A and of B starting in each.</summary>
    public static IReadOnlyList<AlignedWord> Of(string text, IReadOnlyList<CharSpan?> spansA, IReadOnlyList<CharSpan?> spansB)
    {
        var words = Words(text);
        var tokensA = TokensPerWord(words, spansA);
        var tokensB = TokensPerWord(words, spansB);
        var result = new List<AlignedWord>();
        for (var w = 0; w < words.Count; w++)
            if (tokensA[w].Count > 0 && tokensB[w].Count > 0)
                result.Add(new AlignedWord(words[w], text.Substring(words[w].Start, words[w].Length), [.. tokensA[w]], [.. tokensB[w]]));
        return result;
    }

    /// <summary>Per word, the tokens whose span starts in it (tokens without a span belong to no word).</summary>
    public static List<int>[] TokensPerWord(IReadOnlyList<CharSpan> words, IReadOnlyList<CharSpan?> spans)
    {
        var result = words.Select(_ => new List<int>()).ToArray();
        var starts = words.Select(w => w.Start).ToArray();
        for (var t = 0; t < spans.Count; t++)
        {
            if (spans[t] is not { } span) continue;
            // The last word starting at or before the span's start, if the span starts inside it.
            var w = Array.BinarySearch(starts, span.Start);
            if (w < 0) w = ~w - 1;
            if (w >= 0 && span.Start < words[w].End) result[w].Add(t);
        }
        return result;
    }

    /// <summary>
    /// Mean-pools token rows into word rows: <paramref name="values"/> is row-major <paramref name="rows"/> ×
    /// <paramref name="cols"/> (one row per token), the result row-major words × cols, each the float64 mean of its
    /// tokens' rows rounded to float32.
    /// </summary>
    public static float[] Pool(ReadOnlySpan<float> values, int rows, int cols, IReadOnlyList<int[]> tokenIndicesPerWord)
    {
        if (values.Length != (long)rows * cols) throw new ArgumentException($"{values.Length} values for {rows}x{cols}");
        var result = new float[tokenIndicesPerWord.Count * cols];
        var sum = new double[cols];
        for (var w = 0; w < tokenIndicesPerWord.Count; w++)
        {
            var tokens = tokenIndicesPerWord[w];
            if (tokens.Length == 0) throw new ArgumentException($"word {w} has no tokens");
            Array.Clear(sum);
            foreach (var t in tokens)
            {
                if ((uint)t >= (uint)rows) throw new ArgumentOutOfRangeException(nameof(tokenIndicesPerWord), t, $"token index of word {w} outside 0..{rows - 1}");
                var row = values.Slice(t * cols, cols);
                for (var c = 0; c < cols; c++) sum[c] += row[c];
            }
            for (var c = 0; c < cols; c++) result[w * cols + c] = (float)(sum[c] / tokens.Length);
        }
        return result;
    }
}
