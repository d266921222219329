using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Cache;
using Tta.Config;
using Tta.Figures;
using Tta.Metrics;
using Tta.Pipeline;

namespace Tta.Archive;

/// <summary>
/// Verify's check of the archived figures: the Figures stage over a temporary workspace, run on the archived metrics
/// Parquet files, and its files compared byte for byte with the archived ones.
/// </summary>
public static partial class FigureCheck
{
    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeKey();

    /// <summary>Runs the Figures stage on the archived metrics Parquet files and compares the results.</summary>
    public static int Verify(ArchiveMembers members, List<string> problems, List<string> notRegenerated, TextWriter log)
    {
        Experiment experiment;
        try
        {
            experiment = ExperimentFromRunManifest(members.Read(ExperimentArchive.RunManifestName), members.Options.Kinds);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or ArgumentException or NullReferenceException)
        {
            problems.Add($"{ExperimentArchive.RunManifestName}: cannot tell which figures to regenerate ({ex.Message})");
            return 0;
        }
        var temp = Directory.CreateTempSubdirectory("tta-verify-").FullName;
        var compared = 0;
        try
        {
            var ws = Workspace.At(temp, Path.Combine(temp, "cache"), Path.Combine(temp, "figures"));
            using var context = members.Options.Kinds.AttachTo(new RunContext(ws, [experiment], log));
            foreach (var m in experiment.Models)
                foreach (var t in experiment.PerTextFigureTexts())
                {
                    var key = $"{experiment.Name}/{m.Key}/{t.Key}";
                    var prefix = $"figures/{key}/";
                    var archived = members.Where(x => x.Key.StartsWith(prefix, StringComparison.Ordinal))
                        .ToDictionary(x => x.Key, x => x.Value, StringComparer.Ordinal);
                    var figuresUnit = new FiguresUnit(ws, experiment, m, t, members.Options.Kinds);
                    if (OtherCode(members, ws, figuresUnit, FiguresStage.CodeVersion) is { } other)
                    {
                        notRegenerated.Add($"figures of {key}: drawn by {other}, this tta draws {FiguresStage.CodeVersion}");
                        log.WriteLine($"figures of {key} were drawn by {other} and this tta draws {FiguresStage.CodeVersion}: checksummed, not regenerated");
                        continue;
                    }
                    // Every metrics file a figure kind reads (similarity.parquet, attention.parquet, …).
                    var parquet = $"cache/metrics/{key}/similarity.parquet";
                    var missing = false;
                    foreach (var kind in experiment.Figures.Kinds)
                    {
                        var unit = members.Options.Kinds.Find(kind)?.Unit(ws, experiment, m, t);
                        if (unit is null)
                        {
                            problems.Add($"{ExperimentArchive.RunManifestName}: figure kind '{kind}' is not one this tta knows ({string.Join(", ", members.Options.Kinds.Names)})");
                            missing = true;
                            continue;
                        }
                        var file = Path.GetFileName(unit.OutputPath);
                        var member = $"cache/metrics/{key}/{file}";
                        if (!members.TryGetValue(member, out var entry))
                        {
                            problems.Add($"{member}: missing from the archive, so the figures of {key} cannot be regenerated");
                            missing = true;
                            continue;
                        }
                        try
                        {
                            ArchiveMembers.Extract(entry, unit.OutputPath, temp);
                        }
                        catch (InvalidDataException ex)
                        {
                            problems.Add($"{member}: cannot be read from the zip ({ex.Message})");
                            missing = true;
                        }
                    }
                    if (missing) continue;
                    IReadOnlyList<string> regenerated;
                    try
                    {
                        regenerated = figuresUnit.Run(context);
                    }
                    catch (Exception ex) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
                    {
                        problems.Add($"{parquet}: figures of {key} could not be regenerated from it ({ex.Message})");
                        continue;
                    }
                    var figuresDir = Path.Combine(ws.FiguresDir, experiment.Name, m.Key, t.Key);
                    compared += ArchiveMembers.CompareRebuilt(regenerated.Select(path => (prefix + Path.GetRelativePath(figuresDir, path).Replace('\\', '/'), path)),
                        archived, problems, ($"regenerated from {parquet} but missing from the archive",
                            $"differs from the figure regenerated from {parquet}",
                            $"not produced when regenerating the figures of {key} from {parquet}"));
                }
            log.WriteLine($"regenerated {compared} figure file(s) from the archived Parquet and compared them byte for byte");
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return compared;
    }

    /// <summary>
    /// The code version recorded in the archived manifest of <paramref name="unit"/> (<paramref name="ws"/>: the
    /// verification workspace) when it is not <paramref name="current"/>, or when a parameter that is code as well
    /// (<paramref name="codeParam"/>: name and canonical JSON value) was another: this tta would make other bytes, so
    /// there is nothing to compare with. Null when they agree, or when no readable version is recorded (regenerating
    /// then reports what differs).
    /// </summary>
    internal static string? OtherCode(ArchiveMembers members, Workspace ws, StageUnit unit, string current,
        (string Name, string Value)? codeParam = null)
    {
        var member = "cache/" + Path.GetRelativePath(ws.CacheDir, unit.ManifestPath).Replace('\\', '/');
        try
        {
            if (members.Read(member) is not { } bytes || JsonNode.Parse(bytes)?["components"] is not JsonObject components) return null;
            var code = components["code"]?.GetValue<string>();
            if (code is not null && code != current) return code;
            // A parameter that is code too (the explorer's page assets): the same version with other assets.
            if (codeParam is { } p && components["param:" + p.Name]?.GetValue<string>() is { } recorded && recorded != p.Value)
                return $"{code ?? current} with other {p.Name} ({Shorten(recorded)}, this tta's {Shorten(p.Value)})";
            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Shorten(string json) => json.Trim('"') is var v && v.Length > 12 ? v[..12] + "…" : json.Trim('"');

    /// <summary>
    /// The parts of the experiment the Figures stage reads (names, keys, figure options), from the run manifest —
    /// not from the YAML, whose local model folders and text files need not exist where the archive is checked.
    /// </summary>
    internal static Experiment ExperimentFromRunManifest(byte[]? bytes, MetricKinds kinds)
    {
        if (bytes is null) throw new InvalidDataException("missing from the archive");
        var json = new JsonSerializerOptions(Redaction.Json) { Converters = { new MetricsSpecJsonConverter(kinds.Settings) } };
        var root = JsonNode.Parse(bytes)?.AsObject() ?? throw new InvalidDataException("empty");
        if (root["format"]?.GetValue<string>() != ExperimentArchive.RunManifestFormat)
            throw new InvalidDataException($"format is not {ExperimentArchive.RunManifestFormat}");
        var e = root["experiment"]!.AsObject();
        var file = e["file"]!.GetValue<string>();
        var at = new SourceSpan(file, 1, 1);
        string Key(JsonNode? n, string what)
        {
            var k = n?.GetValue<string>() ?? throw new InvalidDataException($"no {what}");
            return SafeKey().IsMatch(k) && k is not ("." or "..") ? k : throw new InvalidDataException($"unsafe {what} '{k}'");
        }
        var models = e["models"]!.AsArray().Select(m => new ModelSpec(Key(m!["key"], "model key"), m["id"]!.GetValue<string>(),
            m["source"]!.GetValue<string>(), m["revision"]?.GetValue<string>() ?? "", m["dtype"]?.GetValue<string>() ?? "float32",
            m["device"]?.GetValue<string>() ?? "cpu", null, at)).ToList();
        var texts = e["texts"]!.AsArray().Select(t => new TextSpec(Key(t!["key"], "text key"), "", t["file"]?.GetValue<string>(), at,
            t["corpus"]?.GetValue<string>())).ToList();
        var figures = (e["figures"].Deserialize<FiguresSpec>(json) ?? throw new InvalidDataException("no figures options"))
            with { PerText = e["figures"]?["per_text"]?.GetValue<bool>() };
        var metrics = e["metrics"].Deserialize<MetricsSpec>(json) ?? new MetricsSpec(new Dictionary<string, object>());
        var explorer = e["explorer"]?["texts"] switch
        {
            null => ExplorerSpec.Default,
            JsonArray keys => new ExplorerSpec(null, [.. keys.Select(k => k!.GetValue<string>())], at),
            var first => new ExplorerSpec(first.GetValue<int>(), null, at),
        };
        return new Experiment(Key(e["name"], "experiment name"), file, models, texts,
            new ExtractSpec([], null, 0, null), metrics, figures, e["license"]?.GetValue<string>() ?? Experiment.DefaultLicense)
        { Explorer = explorer };
    }
}
