using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Tta.Config;
using Tta.Extract;

namespace Tta.Figures;

/// <summary>
/// What the figures of one experiment × model × text need besides the data: names for titles, the input tokens, the
/// figure settings and the output folder, and whether each PNG gets a thumbnail for the explorer (<see cref="Thumbnails"/>:
/// the Figures unit's figures do; a kind passes it to the renderer with the formats and dpi).
/// </summary>
public sealed record FigureContext(string ModelKey, string TextKey, IReadOnlyList<string> Tokens, FiguresSpec Spec, string OutputDir,
    string? Dtype = null, bool Thumbnails = false)
{
    /// <summary>Start token label of a decoder's shifted-right input.</summary>
    public const string DecoderStart = "<start>";

    /// <summary>
    /// Token labels for <paramref name="count"/> positions of a stack's input, or null when token labels are off or
    /// the count does not match: an encoder-decoder's decoder sees the text shifted right behind a start token.
    /// </summary>
    public IReadOnlyList<string>? Labels(string stack, int count)
    {
        if (!Spec.TokenLabels || count != Tokens.Count || count == 0) return null;
        return stack == "decoder" ? [DecoderStart, .. Tokens.Take(count - 1)] : Tokens;
    }

    public string Path(string stem) => System.IO.Path.Combine(OutputDir, stem);

    /// <summary>
    /// A figure title that names what it shows: model · text, then <paramref name="parts"/> (stack, block or layer,
    /// module, head, measure; empty ones left out).
    /// </summary>
    public string Title(params string?[] parts) => LayerNames.Join(new[] { ModelKey, TextKey }.Concat(parts));
}
