using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// A loaded model with a language-model head (every architecture whose <see cref="IArchitecture.HeadStack"/> is not
/// null: GPT-2, Llama, Falcon, T5): its own final norm and unembedding, applied to any state of the head's stack —
/// the logit lens (nostalgebraist 2020). <see cref="FinalNorm"/> then <see cref="Unembed"/> of the last block's output
/// is the model's logits.
/// </summary>
public interface ILanguageModelHead : ITransformerModel
{
    /// <summary>The dtype the model computes in (its states are converted to it before the head).</summary>
    ScalarType ComputeDType { get; }

    /// <summary>Where the model's weights are.</summary>
    Device Device { get; }

    /// <summary>The head stack's final norm (<c>ln_f</c>, <c>model.norm</c>, <c>decoder.final_layer_norm</c>) on a residual-stream state [..., hidden].</summary>
    Tensor FinalNorm(Tensor residual);

    /// <summary>
    /// The unembedding of a state after the final norm: [..., hidden] → logits [..., vocab] in the compute dtype, through
    /// <c>lm_head</c> or the tied input embeddings (T5 scaling the decoder output by d_model^-0.5 first where its
    /// config says so: <c>scale_decoder_outputs</c>, by default where the embeddings are tied).
    /// </summary>
    Tensor Unembed(Tensor normalized);

    /// <summary>
    /// The logit lens of a recorded state of the head stack (<paramref name="point"/> says which: a state that already
    /// went through the final norm, <see cref="IArchitecture.IsAfterFinalNorm"/>, is only unembedded), on the model's
    /// device and in its compute dtype; a float32 [..., vocab] tensor.
    /// </summary>
    Tensor LogitLens(Tensor state, CapturePoint point)
    {
        if (point.Stack != Architecture.HeadStack)
            throw new ArgumentException($"{ModelType}: the language-model head reads the '{Architecture.HeadStack}' stack, not '{point.Stack}' ({point.Name})");
        using var scope = NewDisposeScope();
        var x = state.to(ComputeDType, Device);
        var normalized = Architecture.IsAfterFinalNorm(point, Config) ? x : FinalNorm(x);
        return Unembed(normalized).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
