namespace Tta.Extract;

/// <summary>
/// How <c>extract.batch: N</c> groups an experiment's texts into padded forward passes: the texts, in experiment
/// order, fall into fixed windows of <see cref="WindowBatches"/>·N; each window is sorted by token length (ties by
/// position) and cut into batches of N, so texts of similar length share a batch and little of it is padding. The
/// grouping depends only on the texts and their lengths, never on which are stale or which process runs them, so a
/// text's batch (and its output bytes) is the same in every run. Appending texts changes only the last window.
/// Bench's ONNX Runtime baseline runs the same batches.
/// </summary>
public static class ExtractBatches
{
    /// <summary>Batches per window: more sorts more texts together (less padding) and keeps more texts' captures in memory.</summary>
    public const int WindowBatches = 4;

    public static int WindowSize(int batch) => batch * WindowBatches;

    /// <summary>The first position of the window that holds position <paramref name="index"/>.</summary>
    public static int WindowStart(int index, int batch) => index / WindowSize(batch) * WindowSize(batch);

    /// <summary>
    /// The batches of the window starting at <paramref name="start"/> among <paramref name="count"/> texts, as
    /// positions; <paramref name="length"/> gives a text's token count, or null for a text left out (one that
    /// cannot run, such as a text over max_tokens: it fails on its own).
    /// </summary>
    public static IReadOnlyList<int[]> Window(int start, int count, int batch, Func<int, int?> length)
    {
        var sorted = Enumerable.Range(start, Math.Min(WindowSize(batch), count - start))
            .Select(i => (Index: i, Length: length(i))).Where(t => t.Length is not null)
            .OrderBy(t => t.Length).ThenBy(t => t.Index).Select(t => t.Index).ToList();
        return sorted.Chunk(batch).ToList();
    }

    /// <summary>Every batch of texts with these token counts, window by window.</summary>
    public static IReadOnlyList<int[]> All(IReadOnlyList<int> lengths, int batch) =>
        Enumerable.Range(0, (lengths.Count + WindowSize(batch) - 1) / WindowSize(batch))
            .SelectMany(w => Window(w * WindowSize(batch), lengths.Count, batch, i => lengths[i])).ToList();
}
