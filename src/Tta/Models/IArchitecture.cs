using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// What one architecture knows, most of it from config.json alone (before anything is loaded): how to load a
/// checkpoint, its layout and sizes, its stacks and layer count, where its input embedding is, how one text becomes
/// its inputs, every capture point a forward pass can record, and how its attention's query·key term splits per
/// head. One class per architecture, nested in the architecture's own file; <see cref="ModelFactory"/> maps
/// <c>model_type</c> to it, and a loaded model exposes it (<see cref="ITransformerModel.Architecture"/>).
/// </summary>
public interface IArchitecture
{
    /// <summary>config.json's <c>model_type</c>.</summary>
    string ModelType { get; }

    /// <summary>Stacks the model has: <c>encoder</c>, <c>decoder</c> or <c>decoder-only</c>.</summary>
    IReadOnlyList<string> Stacks { get; }

    /// <summary>
    /// Builds the model with its weights in <paramref name="dtype"/> on <paramref name="device"/>, loads the
    /// checkpoint's weights, and computes in <paramref name="compute"/> (float32 or <paramref name="dtype"/>; see
    /// <see cref="ComputeDTypes"/>).
    /// </summary>
    ITransformerModel Load(Checkpoint checkpoint, ScalarType dtype, ScalarType compute, Device? device);

    /// <summary>The checkpoint layout and activation sizes of a config (validated, nothing allocated).</summary>
    ModelFacts Facts(JsonObject config);

    /// <summary>
    /// Layers of the deepest stack: <c>hidden_states.N</c> runs over N = 0..LayerCount (0 = the embedding output).
    /// </summary>
    int LayerCount(JsonObject config) => Facts(config).Layout.Blocks.Max(b => b.Count);

    /// <summary>Checkpoint keys of the input embedding matrix [vocab, dim], in the order to try them.</summary>
    IReadOnlyList<string> InputEmbeddingKeys { get; }

    /// <summary>
    /// The inputs of one text (a batch of one, no padding). Encoder–decoder models see it on both sides: the decoder
    /// gets it shifted right by one behind the decoder start token (teacher forcing).
    /// </summary>
    ModelInputs ForText(JsonObject config, long[] ids)
    {
        var input = tensor(ids, [1, ids.Length], ScalarType.Int64);
        return new ModelInputs(input, ones_like(input));
    }

    /// <summary>
    /// Whether one forward pass can take several texts, right-padded to the longest, with an attention mask that keeps
    /// the padding out of every real token's activations (<see cref="ForBatch"/>): so far BERT's encoder. Elsewhere
    /// Extract runs one text at a time whatever <c>extract.batch</c> says.
    /// </summary>
    bool SupportsBatches => false;

    /// <summary>
    /// The inputs of several texts in one forward pass (where <see cref="SupportsBatches"/>): ids right-padded with 0
    /// to the longest text, attention mask 1 at each text's tokens and 0 at its padding, as a Hugging Face tokenizer
    /// pads. A text's activations are then its first <c>length</c> positions (<see cref="BatchSlices.OfText"/>).
    /// </summary>
    ModelInputs ForBatch(JsonObject config, IReadOnlyList<long[]> texts)
    {
        if (!SupportsBatches) throw new NotSupportedException($"{ModelType}: a forward pass takes one text at a time (no padded batches)");
        if (texts.Count == 0) throw new ArgumentException("a batch needs at least one text", nameof(texts));
        var width = texts.Max(t => t.Length);
        var (ids, mask) = (new long[texts.Count * width], new long[texts.Count * width]);
        for (var b = 0; b < texts.Count; b++)
        {
            texts[b].CopyTo(ids, b * width);
            Array.Fill(mask, 1L, b * width, texts[b].Length);
        }
        return new ModelInputs(tensor(ids, [texts.Count, width], ScalarType.Int64), tensor(mask, [texts.Count, width], ScalarType.Int64));
    }

    /// <summary>
    /// Every capture point a forward pass of a model with this config can record, in recording order (a point that
    /// depends on the checkpoint rather than the config, such as BERT's optional pooler, is included). The config is
    /// read at once (a bad value throws here); the points come lazily, so an absurd depth costs nothing until read.
    /// </summary>
    IEnumerable<CapturePoint> CapturePoints(JsonObject config);

    /// <summary>
    /// The stack whose hidden states the language-model head turns into logits (<c>decoder-only</c>; T5: <c>decoder</c>),
    /// or null where the architecture has no head (BERT): the logit lens runs on that stack of a loaded
    /// <see cref="ILanguageModelHead"/>.
    /// </summary>
    string? HeadStack => null;

    /// <summary>
    /// Whether a point of <see cref="HeadStack"/> records a state after the final norm — the last <c>hidden_states.N</c>
    /// (as in transformers, N = the layer count), <c>last_hidden_state</c> and the final norm's own output — so the
    /// head only unembeds it; every other hidden state (a block's input) goes through the final norm first.
    /// </summary>
    bool IsAfterFinalNorm(CapturePoint point, JsonObject config) => false;

    /// <summary>
    /// The token each position of <see cref="HeadStack"/> predicts for one text (<paramref name="ids"/>, as in
    /// <see cref="ForText"/>), null where none follows: by default the next input id (the last position has none).
    /// </summary>
    IReadOnlyList<long?> NextTokens(JsonObject config, long[] ids) => [.. ids.Skip(1).Select(id => (long?)id), null];

    /// <summary>The kinds <see cref="QueryKey"/> reads besides the scores (what Extract stores for the attention metric).</summary>
    IReadOnlySet<CaptureKind> QueryKeyKinds { get; }

    /// <summary>
    /// The query·key term of the attention module <paramref name="scores"/> belongs to, from what
    /// <paramref name="capture"/> holds of it (batch of one), or null when the captures cannot give it.
    /// </summary>
    QueryKeyTerms? QueryKey(ActivationCapture capture, CapturePoint scores, int heads, JsonObject config);
}
