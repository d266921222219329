using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Inputs of one forward pass, as in Hugging Face: a padded batch of token ids with masks (1 = real token).
/// Encoder–decoder models also take decoder ids/mask; decoder-only and encoder-only models ignore them.
/// </summary>
public sealed record ModelInputs(
    Tensor InputIds,
    Tensor AttentionMask,
    Tensor? TokenTypeIds = null,
    Tensor? DecoderInputIds = null,
    Tensor? DecoderAttentionMask = null)
{
    /// <summary>One text for <paramref name="net"/>, as its architecture builds it (<see cref="IArchitecture.ForText"/>).</summary>
    public static ModelInputs ForText(ITransformerModel net, long[] ids) => net.Architecture.ForText(net.Config, ids);

    /// <summary>Several texts in one padded forward pass of <paramref name="net"/> (<see cref="IArchitecture.ForBatch"/>).</summary>
    public static ModelInputs ForBatch(ITransformerModel net, IReadOnlyList<long[]> texts) => net.Architecture.ForBatch(net.Config, texts);
}

/// <summary>A loaded checkpoint that can run forward passes and expose its internals.</summary>
public interface ITransformerModel : IDisposable
{
    /// <summary>What the architecture knows: stacks, layer count, capture points, attention decomposition, ….</summary>
    IArchitecture Architecture { get; }

    /// <summary><c>model_type</c> from config.json (bert, t5, falcon, gpt2, llama).</summary>
    string ModelType => Architecture.ModelType;

    /// <summary>The parsed config.json.</summary>
    JsonObject Config { get; }

    /// <summary>Stacks this model has: <c>encoder</c>, <c>decoder</c> or <c>decoder-only</c>.</summary>
    IReadOnlyList<string> Stacks => Architecture.Stacks;

    /// <summary>Runs inference (no autograd) and records selected points into <paramref name="capture"/>.</summary>
    void Run(ModelInputs inputs, ActivationCapture capture);
}
