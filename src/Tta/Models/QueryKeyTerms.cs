using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// How an attention module's query·key term splits per head, as the model computes it: <see cref="Queries"/>
/// [queries, heads·d] and <see cref="Keys"/> [keys, kvHeads·d] (position encodings that live in q and k, such as
/// rotary, already applied), query head h using key head h / (heads / kvHeads), times <see cref="Scale"/>.
/// </summary>
public sealed record QueryKeyTerms(Tensor Queries, Tensor Keys, int Heads, int KvHeads, double Scale);
