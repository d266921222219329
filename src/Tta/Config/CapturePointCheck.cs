using System.Globalization;
using System.Text.Json.Nodes;
using Tta.Models;

namespace Tta.Config;

/// <summary>
/// Checks <c>extract.points</c> against the capture points the experiment's models can record, known from their
/// config.json alone (<see cref="IArchitecture.CapturePoints"/>; no weights are read, no model is loaded), so a pattern
/// that matches nothing stops the run before any stage writes. A pattern may name what only some of the models have
/// (<c>*.input_layernorm</c> beside a GPT-2), but not what none of them has.
/// </summary>
public static class CapturePointCheck
{
    /// <summary>A model of the experiment whose checkpoint's config.json is at hand.</summary>
    public sealed record KnownModel(ModelSpec Spec, JsonObject Config, string CheckpointDir);

    /// <summary>
    /// Throws a <see cref="ConfigException"/> at the first pattern of <paramref name="e"/> that matches no capture
    /// point of any of <paramref name="models"/>.
    /// </summary>
    public static void Check(Experiment e, IReadOnlyList<KnownModel> models)
    {
        var points = models.Select(m => ModelFactory.CapturePoints(m.Config, m.CheckpointDir)).ToList();
        for (var i = 0; i < e.Extract.Points.Count; i++)
        {
            var pattern = e.Extract.Points[i];
            var regex = PointPattern.ToRegex(pattern);
            if (points.Any(list => list.Any(p => regex.IsMatch(p.Name)))) continue;
            var at = e.Extract.PointsAt is { } spans && i < spans.Count ? spans[i] : new SourceSpan(e.SourcePath, 1, 1);
            var names = models.Select(m => $"'{m.Spec.Key}' ({m.Spec.Id})");
            throw new ConfigException(at,
                $"extract.points: '{pattern}' matches no capture point of model{(models.Count > 1 ? "s" : "")} {string.Join(", ", names)} — use {Suggestions(points[0])}");
        }
    }

    /// <summary>The hidden-state series with their range, attention maps, and a module of the first block as examples.</summary>
    private static string Suggestions(IReadOnlyList<CapturePoint> points)
    {
        var series = points.Where(p => p.Kind == CaptureKind.HiddenState).GroupBy(p => p.Path)
            .Select(g => $"{g.Key}.* (N = 0..{g.Max(p => p.Layer).ToString(CultureInfo.InvariantCulture)})");
        var attentions = points.Where(p => p.Kind == CaptureKind.Attentions).Select(p => p.Path + ".*").Distinct();
        var module = points.FirstOrDefault(p => p.Kind == CaptureKind.Module && p.Layer == 0 && !p.Name.Contains('#', StringComparison.Ordinal))?.Name;
        var examples = module is null ? "" : $", or module paths such as {module}, {module}.* or *.probs";
        return string.Join(", ", series.Concat(attentions)) + examples;
    }
}
