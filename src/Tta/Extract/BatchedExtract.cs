using Tta.Cache;
using Tta.Config;
using Tta.Models;
using Tta.Tokenizers;
using static TorchSharp.torch;

namespace Tta.Extract;

/// <summary>
/// Extract with <c>extract.batch</c> above 1, for one experiment × model, kept in the run's <see cref="RunContext"/>.
/// Each text keeps its own unit (appending texts builds only the new ones); batching happens when a unit runs: the
/// unit of text t runs t's batch (<see cref="ExtractBatches"/>) as one padded forward pass, stores t's captures, and
/// keeps its batch-mates' captures here, so their units (run next by the local executor, in the same process) store
/// those instead of running the model. A unit that finds nothing kept (another process, a Slurm job, a rerun of one
/// text) runs its batch again: results never depend on what is kept, only on the batch, which is fixed. Memory:
/// the captures of one window's texts at most (<see cref="ExtractBatches.WindowSize"/>); a new window drops the old.
/// </summary>
internal sealed class BatchedExtract
{
    private readonly Experiment experiment;
    private readonly Dictionary<string, int> positions;
    private int windowStart = -1;
    private IReadOnlyList<int[]> batches = [];
    private readonly Dictionary<int, long[]> ids = [];
    private readonly Dictionary<string, List<(CapturePoint Point, List<PointBlock> Blocks)>> kept = new(StringComparer.Ordinal);

    private BatchedExtract(Experiment experiment)
    {
        this.experiment = experiment;
        positions = experiment.Texts.Select((t, i) => (t.Key, i)).ToDictionary(p => p.Key, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>
    /// Hands <paramref name="store"/> text <paramref name="text"/>'s captures (those <paramref name="wanted"/> selects,
    /// in the forward pass's order): kept from a batch-mate's run, else from a run of its batch.
    /// </summary>
    public static void Run(RunContext context, Experiment experiment, ModelSpec model, TextSpec text, ITransformerModel net,
        ITextTokenizer tokenizer, Func<CapturePoint, bool> wanted, Action<CapturePoint, IEnumerable<PointBlock>> store)
    {
        var batched = context.Keep($"extract-batch:{experiment.Name}/{model.Key}", () => new BatchedExtract(experiment));
        lock (batched) batched.Run(context.Log, model, text, net, tokenizer, wanted, store);
    }

    private void Run(TextWriter log, ModelSpec model, TextSpec text, ITransformerModel net, ITextTokenizer tokenizer, Func<CapturePoint, bool> wanted,
        Action<CapturePoint, IEnumerable<PointBlock>> store)
    {
        if (kept.Remove(text.Key, out var captured))
        {
            foreach (var (point, blocks) in captured) store(point, blocks);
            return;
        }
        var (index, size) = (positions[text.Key], experiment.Extract.Batch);
        if (ExtractBatches.WindowStart(index, size) is var start && start != windowStart)
        {
            (windowStart, batches) = (-1, []);
            kept.Clear();
            ids.Clear();
            // A text over max_tokens is left out of every batch: its own unit fails with the message.
            batches = ExtractBatches.Window(start, experiment.Texts.Count, size, i =>
                tokenizer.Encode(experiment.Texts[i].Text).Ids is var t && t.Length <= experiment.Extract.MaxTokens ? (ids[i] = t).Length : null);
            windowStart = start;
        }
        var members = batches.First(b => b.Contains(index));
        var others = members.Where(i => i != index).ToDictionary(i => i, _ => new List<(CapturePoint, List<PointBlock>)>());
        using var capture = new ActivationCapture(wanted, (point, value) =>
        {
            for (var b = 0; b < members.Length; b++)
            {
                var blocks = ExtractUnit.Blocks(BatchSlices.OfText(value, b, ids[members[b]].Length));
                if (members[b] == index) store(point, blocks);
                else others[members[b]].Add((point, blocks.ToList()));
            }
        });
        using (no_grad()) net.Run(ModelInputs.ForBatch(net, [.. members.Select(i => ids[i])]), capture);
        log.WriteLine($"Extract {experiment.Name}/{model.Key}: one forward pass of {members.Length} text{(members.Length == 1 ? "" : "s")} " +
                      $"({string.Join(", ", members.Select(i => experiment.Texts[i].Key))}; {members.Max(i => ids[i].Length)} positions each)");
        // Kept only once the whole pass succeeded: a batch-mate never stores part of a pass.
        foreach (var (i, list) in others) kept[experiment.Texts[i].Key] = list;
    }
}
