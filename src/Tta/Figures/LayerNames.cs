using System.Globalization;
using Tta.Models;
using Tta.Store;

namespace Tta.Figures;

/// <summary>
/// The one vocabulary for where a map sits in a model, shared by the figures' titles and file names and by the
/// explorer's labels, so the two cannot drift: a hidden state is numbered by its index (<c>hidden_states.1</c> is
/// "layer 1", file <c>L01</c>), a point inside a block by its block ("block 0").
/// </summary>
public static class LayerNames
{
    /// <summary>"layer N" for hidden state N, "block N" for a point in block N, null for a point outside the blocks.</summary>
    public static string? Where(CaptureKind kind, int layer) =>
        layer < 0 ? null : kind == CaptureKind.HiddenState ? "layer " + Number(layer) : Block(layer);

    /// <summary>"block N".</summary>
    public static string Block(int layer) => "block " + Number(layer);

    /// <summary>Parts of a title or label joined by " · ", empty ones left out.</summary>
    public static string Join(IEnumerable<string?> parts) => string.Join(" · ", parts.Where(p => !string.IsNullOrEmpty(p)));

    /// <summary>What a similarity map shows, as its figure's title says it between model · text and the measure: stack · layer N · point.</summary>
    public static string Map(CapturePoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return Join([point.Stack, Where(point.Kind, point.Layer), point.Name]);
    }

    /// <summary>An attention module, as its figures' titles say it before the head: stack · block N · module.</summary>
    public static string AttentionModule(ActivationPoint key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Join([key.Stack, Block(key.Layer), ModuleName(key)]);
    }

    /// <summary>A point of a trajectory, as the hover names it: layer N · point.</summary>
    public static string OnTrajectory(CapturePoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return Join([Where(point.Kind, point.Layer), point.Name]);
    }

    /// <summary>
    /// The module part of a capture point after its block number: <c>encoder.block.0.layer.0.SelfAttention</c> →
    /// <c>layer.0.SelfAttention</c>, <c>encoder.layer.0.attention.self</c> → <c>attention.self</c>.
    /// </summary>
    public static string ModuleName(ActivationPoint key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var marker = "." + key.Layer.ToString(CultureInfo.InvariantCulture) + ".";
        var at = key.Layer >= 0 ? key.Point.IndexOf(marker, StringComparison.Ordinal) : -1;
        return at >= 0 ? key.Point[(at + marker.Length)..] : key.Point;
    }

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
}
