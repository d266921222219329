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
        var patterns = e.Extract.Points.Select(PointPattern.ToRegex).ToList();
        var matched = new bool[patterns.Count];
        var left = patterns.Count;
        // One pass over the points, stopping once every pattern matched something (points come lazily).
        foreach (var model in models)
            foreach (var point in ModelFactory.CapturePoints(model.Config, model.CheckpointDir))
            {
                for (var i = 0; i < patterns.Count; i++)
                    if (!matched[i] && patterns[i].IsMatch(point.Name))
                    {
                        matched[i] = true;
                        left--;
                    }
                if (left == 0) return;
            }
        var first = Array.IndexOf(matched, false);
        if (first < 0) return;
        var at = e.Extract.PointsAt is { } spans && first < spans.Count ? spans[first] : new SourceSpan(e.SourcePath, 1, 1);
        var names = models.Select(m => $"'{m.Spec.Key}' ({m.Spec.Id})");
        throw new ConfigException(at, $"extract.points: '{e.Extract.Points[first]}' matches no capture point of model{(models.Count > 1 ? "s" : "")} " +
            $"{string.Join(", ", names)} — use {Suggestions(ModelFactory.CapturePoints(models[0].Config, models[0].CheckpointDir))}");
    }

    /// <summary>The hidden-state series with their range, attention maps, and a module of the first block as examples (in one pass).</summary>
    private static string Suggestions(IEnumerable<CapturePoint> points)
    {
        var series = new Dictionary<string, int>(StringComparer.Ordinal);
        var attentions = new HashSet<string>(StringComparer.Ordinal);
        string? module = null;
        foreach (var p in points)
        {
            if (p.Kind == CaptureKind.HiddenState) series[p.Path] = Math.Max(p.Layer, series.GetValueOrDefault(p.Path));
            else if (p.Kind == CaptureKind.Attentions) attentions.Add(p.Path);
            else if (module is null && p.Kind == CaptureKind.Module && p.Layer == 0 && !p.Name.Contains('#', StringComparison.Ordinal)) module = p.Name;
        }
        var examples = module is null ? "" : $", or module paths such as {module}, {module}.* or *.probs";
        return string.Join(", ", series.Select(kv => $"{kv.Key}.* (N = 0..{kv.Value.ToString(CultureInfo.InvariantCulture)})")
            .Concat(attentions.Select(a => a + ".*"))) + examples;
    }
}
