using System.Globalization;

namespace Tta.Models;

/// <summary>
/// The output fields of one stack as Hugging Face model outputs name them: <c>PREFIXhidden_states.N</c>,
/// <c>PREFIXattentions.N</c> (prefix <c>encoder_</c>/<c>decoder_</c> in encoder–decoder models, none otherwise),
/// <c>cross_attentions.N</c>, and fields without a layer (<c>last_hidden_state</c>, <c>logits</c>).
/// </summary>
public readonly record struct OutputFields(string Stack, string Prefix = "")
{
    public CapturePoint HiddenState(int n) =>
        new($"{Prefix}hidden_states.{n.ToString(CultureInfo.InvariantCulture)}", $"{Prefix}hidden_states", Stack, n, CaptureKind.HiddenState);

    public CapturePoint Attentions(int layer) =>
        new($"{Prefix}attentions.{layer.ToString(CultureInfo.InvariantCulture)}", $"{Prefix}attentions", Stack, layer, CaptureKind.Attentions);

    public CapturePoint CrossAttentions(int layer) =>
        new($"cross_attentions.{layer.ToString(CultureInfo.InvariantCulture)}", "cross_attentions", Stack, layer, CaptureKind.Attentions, Cross: true);

    /// <summary>A field without a layer, such as <c>last_hidden_state</c> (kind <see cref="CaptureKind.Output"/>).</summary>
    public CapturePoint Output(string name) => new(name, name, Stack, -1, CaptureKind.Output);

    public CapturePoint Logits => new("logits", "logits", Stack, -1, CaptureKind.Logits);
}
