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
    /// <summary>
    /// One text for <paramref name="net"/> (batch of one, no padding). Encoder–decoder models see the text on both
    /// sides: the decoder gets it shifted right by one, after <c>decoder_start_token_id</c> (teacher forcing).
    /// </summary>
    public static ModelInputs ForText(ITransformerModel net, long[] ids)
    {
        var input = tensor(ids, [1, ids.Length], ScalarType.Int64);
        if (!net.Stacks.Contains("decoder")) return new ModelInputs(input, ones_like(input));
        var start = net.Config.Int("decoder_start_token_id", net.Config.Int("pad_token_id", 0));
        var decoder = cat([tensor(new long[] { start }, [1, 1], ScalarType.Int64), input[.., ..^1]], 1);
        return new ModelInputs(input, ones_like(input), DecoderInputIds: decoder, DecoderAttentionMask: ones_like(decoder));
    }
}

/// <summary>A loaded checkpoint that can run forward passes and expose its internals.</summary>
public interface ITransformerModel : IDisposable
{
    /// <summary><c>model_type</c> from config.json (bert, t5, falcon, gpt2, llama).</summary>
    string ModelType { get; }

    /// <summary>The parsed config.json.</summary>
    JsonObject Config { get; }

    /// <summary>Stacks this model has: <c>encoder</c>, <c>decoder</c> or <c>decoder-only</c>.</summary>
    IReadOnlyList<string> Stacks { get; }

    /// <summary>Runs inference (no autograd) and records selected points into <paramref name="capture"/>.</summary>
    void Run(ModelInputs inputs, ActivationCapture capture);
}
