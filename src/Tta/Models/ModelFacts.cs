namespace Tta.Models;

/// <summary>
/// The sizes that decide one block's working set in a forward pass (see <see cref="MemoryEstimate"/>): model width,
/// feed-forward width, query and key/value heads and their size, how many attention modules a block has (T5's
/// decoder: self and cross), whether the feed-forward is gated (two up projections) and whether the softmax runs in
/// float32 whatever the load dtype.
/// </summary>
public sealed record ActivationShape(long Hidden, long FeedForward, long Heads, long KvHeads, long HeadDim,
    int AttentionModulesPerBlock, bool GatedFeedForward, bool SoftmaxInFloat32);

/// <summary>
/// What an architecture knows about a config before anything is allocated: its checkpoint layout (and so the weight
/// count), its block count over all stacks and the shape of one block's activations. Reading it validates the
/// config (a bad value is a <see cref="ConfigValueException"/> naming the key).
/// </summary>
public sealed record ModelFacts(string ModelType, CheckpointLayout Layout, ActivationShape Activations)
{
    public long Blocks => Layout.Blocks.Sum(b => (long)b.Count);
}
