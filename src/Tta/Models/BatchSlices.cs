using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// One text's part of a tensor captured in a padded batch (<see cref="IArchitecture.ForBatch"/>). Captured tensors
/// follow Hugging Face's layouts: [batch, tokens, features], [batch, heads, tokens, tokens] (attention scores and
/// probabilities), or [batch, features] (a pooler); a batch dimension of 1 is shared by every text (BERT's position
/// embeddings [1, tokens, features]).
/// </summary>
public static class BatchSlices
{
    /// <summary>
    /// Text <paramref name="index"/>'s row of the batch dimension and its first <paramref name="length"/> positions of
    /// every token dimension, with a batch dimension of 1: [B,T,D] → [1,len,D]; [B,H,T,T] → [1,H,len,len]; [B,D] → [1,D].
    /// </summary>
    public static Tensor OfText(Tensor captured, int index, int length)
    {
        var row = captured.shape[0] == 1 ? 0 : index;
        var x = captured.narrow(0, row, 1);
        return captured.dim() switch
        {
            4 => x.narrow(2, 0, length).narrow(3, 0, length),
            3 => x.narrow(1, 0, length),
            _ => x,
        };
    }
}
