using System.Globalization;
using Tta.Core;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Config;
using Tta.Figures;
using Tta.Pipeline;
using static Tta.Archive.ExperimentArchive;

namespace Tta.Archive;

/// <summary>The archive's run manifest: unit fingerprints and timings, models, tool versions, git commit, machine.</summary>
internal sealed partial class ArchivePlan
{
    private JsonObject RunManifest()
    {
        var stages = new JsonArray();
        foreach (var stage in Stages.StageNames)
        {
            var list = units.Where(u => u.Unit.Stage == stage).ToList();
            var unitArray = new JsonArray();
            foreach (var u in list)
            {
                var components = new JsonObject();
                foreach (var (k, v) in u.Manifest.Components) components[k] = v;
                unitArray.Add(new JsonObject
                {
                    ["unit"] = u.Unit.Key,
                    ["manifest"] = u.ManifestMember,
                    ["fingerprint"] = u.Manifest.Fingerprint,
                    ["components"] = components,
                    ["seconds"] = u.Manifest.Seconds,
                    ["finished"] = Iso(u.EndUtc),
                });
            }
            stages.Add(new JsonObject
            {
                ["stage"] = stage,
                ["seconds"] = Math.Round(list.Sum(u => u.Manifest.Seconds), 3),
                ["units"] = unitArray,
            });
        }
        var texts = new JsonArray();
        foreach (var t in e.Texts)
        {
            var text = new JsonObject
            {
                ["key"] = t.Key,
                ["file"] = layout.TextMember(t.Key),
                ["sha256"] = Hashing.Sha256(t.Text),
            };
            if (t.Corpus is not null) text["corpus"] = t.Corpus; // only then, so manifests without corpora keep their bytes
            texts.Add(text);
        }
        var external = new JsonArray();
        foreach (var x in layout.Externals)
            external.Add(new JsonObject { ["name"] = x.Name, ["yaml_key"] = x.Reference, ["what"] = x.What, ["archived"] = x.Archived });
        var spec = new JsonObject
        {
            ["name"] = e.Name,
            ["file"] = experimentMember,
            ["license"] = e.License,
            ["external"] = external,
            ["models"] = new JsonArray([.. e.Models.Select(m => (JsonNode)models[m.Key].DeepClone())]),
            ["texts"] = texts,
            ["extract"] = new JsonObject
            {
                ["points"] = JsonSerializer.SerializeToNode(e.Extract.Points),
                ["layers"] = JsonSerializer.SerializeToNode(e.Extract.Layers),
                ["max_tokens"] = e.Extract.MaxTokens,
            },
            ["metrics"] = JsonSerializer.SerializeToNode(e.Metrics, new JsonSerializerOptions(Redaction.Json) { Converters = { new MetricsSpecJsonConverter(kinds.Settings) } }),
            ["figures"] = JsonSerializer.SerializeToNode(e.Figures, Redaction.Json),
        };
        // per_text decides which figure units exist (no param of theirs): recorded only where set, for Verify.
        if (e.Figures.PerText is { } perText) spec["figures"]!["per_text"] = perText;
        // extract.batch changes the stores' bytes (within 1e-6): recorded only above 1, so other archives keep theirs.
        if (e.Extract.Batch > 1) spec["extract"]!["batch"] = e.Extract.Batch;
        if (e.Explorer.Given) spec["explorer"] = new JsonObject { ["texts"] = e.Explorer.Keys is { } keys ? JsonSerializer.SerializeToNode(keys) : e.Explorer.First };
        return new JsonObject
        {
            ["format"] = RunManifestFormat,
            ["created"] = Iso(created),
            ["experiment"] = spec,
            ["stages"] = stages,
            ["tools"] = RunEnvironment.Tools(),
            ["git"] = RunEnvironment.Git(ws.Root),
            ["machine"] = RunEnvironment.Machine(),
        };
    }

    internal static string Iso(DateTime utc) => utc.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
