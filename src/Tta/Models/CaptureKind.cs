namespace Tta.Models;

/// <summary>
/// What a captured tensor is. Models say it where they record (<see cref="CapturePoint"/>), so no consumer has to
/// recognise it by its name. Stored in store metadata (<c>tta.points</c>) in snake case (<c>hidden_state</c>, …).
/// </summary>
public enum CaptureKind
{
    /// <summary>Output field <c>hidden_states.N</c> (also <c>encoder_</c>/<c>decoder_</c>): the input of layer N; N = 0 is the embedding output, the last one the final output.</summary>
    HiddenState,

    /// <summary>Output field <c>attentions.N</c> (also <c>encoder_</c>/<c>decoder_</c>, and <c>cross_attentions.N</c>): the attention weights of block N.</summary>
    Attentions,

    /// <summary>Another output field of the model outputs: <c>last_hidden_state</c>, <c>encoder_last_hidden_state</c>.</summary>
    Output,

    /// <summary>Output field <c>logits</c>.</summary>
    Logits,

    /// <summary>A module's output (<c>path</c>) or one item of a tuple it returns (<c>path#1</c>).</summary>
    Module,

    /// <summary>An attention module's query projection (a module output as well).</summary>
    Query,

    /// <summary>An attention module's key projection.</summary>
    Key,

    /// <summary>An attention module's value projection.</summary>
    Value,

    /// <summary>A fused query/key/value projection (GPT-2's <c>c_attn</c>, Falcon's <c>query_key_value</c>).</summary>
    QueryKeyValue,

    /// <summary><c>PATH.scores</c>: the pre-softmax attention scores, [batch, heads, queries, keys], mask included.</summary>
    AttentionScores,

    /// <summary><c>PATH.probs</c>: the attention weights after the softmax.</summary>
    AttentionProbs,

    /// <summary><c>PATH.position_bias</c>: the additive relative-position bias without the mask (T5).</summary>
    PositionBias,

    /// <summary>The rotary embedding's cosine table (<c>model.rotary_emb#0</c>).</summary>
    RotaryCos,

    /// <summary>The rotary embedding's sine table (<c>model.rotary_emb#1</c>).</summary>
    RotarySin,
}
