using Tta.Config;
using Tta.Tokenizers;
using Tta.Metrics.Words;

namespace Tta.Metrics.Cka;

/// <summary>
/// How the rows of two models' hidden states are paired for CKA. Where both models tokenize every text of the corpus
/// into the same token ids (T5 and Flan-T5, one model against itself) the rows are the tokens. Otherwise they are
/// the words both tokenizations cover (<see cref="WordAlignment"/>), each
/// word's vector the mean of its sub-tokens, located by character offsets; words one side does not cover are dropped
/// and counted.
/// </summary>
public sealed class RowPairing
{
    /// <summary>The rule, as the param of every CKA unit and the CKA figures' caption state it.</summary>
    public const string Rule = "tokens where both models tokenize every text into the same ids; else " + WordAlignment.Rule + " (sub-tokens located by character offsets)";

    public static RowPairing Tokens { get; } = new("tokens", "rows are tokens: both models tokenize every text into the same ids");
    public static RowPairing Words { get; } = new("words", "rows are " + WordAlignment.Rule + " (sub-tokens located by character offsets); words not covered by both tokenizations are dropped");

    private RowPairing(string name, string description) => (Name, Description) = (name, description);

    public string Name { get; }
    public string Description { get; }

    /// <summary>Tokens when every text has the same token ids in both corpora, else words.</summary>
    public static async Task<RowPairing> ChooseAsync(CorpusActivations a, CorpusActivations b, IEnumerable<TextSpec> texts)
    {
        foreach (var text in texts)
        {
            var (ta, tb) = (await a.TokensAsync(text), await b.TokensAsync(text));
            if (!ta.Ids.AsSpan().SequenceEqual(tb.Ids)) return Words;
        }
        return Tokens;
    }

    /// <summary>
    /// One text's paired rows: A's layers <paramref name="layersOfA"/> (indices into <paramref name="seriesA"/>) and all
    /// of B's, row-major (rows × dim) each.
    /// </summary>
    public PairedRows Pair(TextStates textA, SeriesStates seriesA, TextStates textB, SeriesStates seriesB, IReadOnlyList<int> layersOfA)
    {
        if (this == Tokens)
        {
            if (seriesA.Positions != seriesB.Positions)
                throw new InvalidDataException($"text '{textA.Text.Key}': {seriesA.Positions} positions in {seriesA.Name} against {seriesB.Positions} in {seriesB.Name}, though the token ids are equal");
            return new PairedRows(seriesA.Positions, [.. layersOfA.Select(i => seriesA.Blocks[i].Values)], [.. seriesB.Blocks.Select(x => x.Values)], 0);
        }
        var text = textA.Text.Text;
        var (spansA, spansB) = (TokenSpans.Locate(text, new TokenizedText(textA.Ids, textA.Tokens)), TokenSpans.Locate(text, new TokenizedText(textB.Ids, textB.Tokens)));
        var aligned = WordAlignment.Of(text, spansA, spansB);
        // Words that only one side covers (no token of the other starts in them) are dropped, and counted.
        var words = WordAlignment.Words(text);
        var (perA, perB) = (WordAlignment.TokensPerWord(words, spansA), WordAlignment.TokensPerWord(words, spansB));
        var dropped = Enumerable.Range(0, words.Count).Count(w => (perA[w].Count > 0) != (perB[w].Count > 0));
        var wordsA = aligned.Select(w => w.TokensA).ToList();
        var wordsB = aligned.Select(w => w.TokensB).ToList();
        return new PairedRows(aligned.Count,
            [.. layersOfA.Select(i => WordAlignment.Pool(seriesA.Blocks[i].Values, seriesA.Blocks[i].Positions, seriesA.Blocks[i].Dim, wordsA))],
            [.. seriesB.Blocks.Select(x => WordAlignment.Pool(x.Values, x.Positions, x.Dim, wordsB))],
            dropped);
    }
}

/// <summary>One text's paired rows of A (per layer asked for) and B (every layer), and the words dropped.</summary>
public sealed record PairedRows(int Rows, IReadOnlyList<float[]> A, IReadOnlyList<float[]> B, int Dropped);
