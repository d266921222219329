using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics;
using Tta.Pipeline;
using static Tta.Archive.ExperimentArchive;

namespace Tta.Archive;

/// <summary>
/// What goes into one experiment's archive (<see cref="ExperimentArchive"/>): its members and where their bytes come
/// from, the finished units with their manifests, and the models. Split by job: collecting the members (here), the
/// run manifest, the zip and the RO-Crate metadata.
/// </summary>
internal sealed partial class ArchivePlan(Workspace ws, Experiment e, DateTime created, ArchiveLayout layout, Redaction redaction, MetricKinds kinds)
{
    private readonly Workspace ws = ws;
    private readonly Experiment e = e;
    private readonly DateTime created = created;
    private readonly ArchiveLayout layout = layout;
    private readonly Redaction redaction = redaction;
    private readonly MetricKinds kinds = kinds;

/// <summary>
/// One member of the archive: its name, its kind (what the crate and the checks make of it) and where its bytes
/// come from; a stage output carries its recorded sha256 and its unit's manifest.
/// </summary>
private sealed record Member(string Name, string Kind, string Description, Func<byte[]> Read, string? ExpectedSha256 = null, string? UnitManifest = null)
{
    public bool IsText => Kind is "experiment" or "text" || (Kind == "explorer" && Name.EndsWith(".html", StringComparison.Ordinal));
    public bool IsJson => Kind is "unit-manifest" or "run-manifest";
}

/// <summary>A finished stage unit, for the run manifest and the crate's CreateActions.</summary>
private sealed record UnitRecord(StageUnit Unit, UnitManifest Manifest, string ManifestMember, DateTime EndUtc,
    IReadOnlyList<string> Objects, IReadOnlyList<string> Results);

    private readonly List<Member> members = [];
    private readonly List<UnitRecord> units = [];
    private readonly Dictionary<string, JsonObject> models = new(StringComparer.Ordinal);
    private string experimentMember = "";
    private readonly Dictionary<string, (string Sha256, long Bytes, bool Rewritten, bool Relaid)> written = new(StringComparer.Ordinal);

    private string CacheMember(string absolute) => Under(ws.CacheDir, "cache", absolute);

    private string FigureMember(string absolute) => Under(ws.FiguresDir, "figures", absolute);

    private static string Under(string dir, string prefix, string absolute)
    {
        var rel = Path.GetRelativePath(dir, absolute).Replace('\\', '/');
        if (rel.StartsWith("../", StringComparison.Ordinal) || rel == ".." || Path.IsPathRooted(rel))
            throw new InvalidOperationException($"{absolute} is not under {dir}; an archive holds only the experiment's outputs");
        return $"{prefix}/{rel}";
    }

    private static Func<byte[]> FileBytes(string path) => () => File.ReadAllBytes(path);

    /// <summary>
    /// A path a manifest records (relative to the project root) as the archive lays it out: under the cache folder
    /// <c>cache/…</c>, under the figures folder <c>figures/…</c>, wherever --cache and --figures put them; any
    /// other path (a local model folder) as recorded.
    /// </summary>
    private string ArchivePath(string recorded)
    {
        var absolute = ws.Absolute(recorded);
        // The deeper folder first, should one hold the other (--figures=cache/figures).
        foreach (var (dir, prefix) in new[] { (ws.CacheDir, "cache"), (ws.FiguresDir, "figures") }.OrderByDescending(f => f.Item1.Length))
            if (Workspace.IsUnder(absolute, dir))
                return Path.GetRelativePath(dir, absolute) is "." ? prefix : Under(dir, prefix, absolute);
        return recorded;
    }

    /// <summary>
    /// Rewrites a unit manifest's outputs, checkpoint folder and cache and figures folders into the archive's layout
    /// (what Verify rebuilds from); true when any of them was recorded otherwise. Unchanged for the default folders.
    /// </summary>
    private bool ToArchiveLayout(JsonNode manifest)
    {
        var changed = false;
        void Set(JsonNode? parent, string key, Func<string, string> value)
        {
            if (parent is not JsonObject o || o[key] is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return;
            var (was, now) = (v.GetValue<string>(), value(v.GetValue<string>()));
            if (was == now) return;
            o[key] = now;
            changed = true;
        }
        foreach (var output in manifest["outputs"] as JsonArray ?? []) Set(output, "path", ArchivePath);
        Set(manifest["facts"], "checkpoint", ArchivePath);
        Set(manifest["folders"], "cache", _ => "cache");
        Set(manifest["folders"], "figures", _ => "figures");
        return changed;
    }

    public void Collect()
    {
        CollectExperimentFiles();
        foreach (var m in e.Models)
        {
            var download = DownloadStage.For(ws, e, m);
            var manifest = UnitManifest.TryRead(download.ManifestPath)!;
            var modelId = ModelEntityId(m);
            models[m.Key] = ModelRecord(m, manifest);
            AddUnit(download, manifest, [], [modelId]);
            foreach (var t in e.Texts)
            {
                var inputs = new List<string> { modelId, experimentMember };
                if (layout.TextMember(t.Key) is { } textMember) inputs.Add(textMember);
                var extract = ExtractStage.For(ws, e, m, t);
                var activations = AddOutputs(extract, "activations", "activations (Extract output, Parquet)");
                AddUnit(extract, UnitManifest.TryRead(extract.ManifestPath)!, inputs, activations);
                // Every metric the experiment configures (the figures are regenerated from them).
                var metricFiles = new List<string>();
                foreach (var kind in kinds.Configured(e))
                {
                    var unit = kind.Unit(ws, e, m, t);
                    var files = AddOutputs(unit, "metrics", $"{kind.Description} (Metrics output, Parquet)");
                    AddUnit(unit, UnitManifest.TryRead(unit.ManifestPath)!, activations, files);
                    metricFiles.AddRange(files);
                }
                if (!e.Figures.PerTextFor(t)) continue; // a corpus text without figures of its own
                var figures = new FiguresUnit(ws, e, m, t, kinds);
                var images = AddOutputs(figures, "figure", "figure (Figures output)");
                AddUnit(figures, UnitManifest.TryRead(figures.ManifestPath)!, metricFiles, images);
            }
        }
        // The explorer page (a text member: paths in its copy of the YAML are rewritten); its thumbnails are figure outputs.
        var explorer = new ExplorerUnit(ws, e, kinds);
        var explorerFiles = AddOutputs(explorer, "explorer", "interactive explorer page (Figures output)");
        AddUnit(explorer, UnitManifest.TryRead(explorer.ManifestPath)!, [.. members.Where(x => x.Kind is "metrics" or "figure").Select(x => x.Name)], explorerFiles);
        var runManifest = RunManifest();
        members.Add(new Member(RunManifestName, "run-manifest",
            "run manifest: unit fingerprints and timings, models and weight hashes, tool versions, git commit, machine",
            () => Redaction.ToBytes(runManifest)));
        var duplicates = members.GroupBy(m => m.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0) throw new InvalidOperationException($"archive members named twice: {string.Join(", ", duplicates)}");
    }

    /// <summary>
    /// The experiment file (its references rewritten where they would not resolve) and its text files, under
    /// <c>experiment/</c> or <c>external/N/</c> (see <see cref="ArchiveLayout"/>).
    /// </summary>
    private void CollectExperimentFiles()
    {
        var yaml = Path.GetFullPath(e.SourcePath);
        experimentMember = layout.ExperimentMember;
        members.Add(new Member(experimentMember, "experiment", "experiment file (YAML)", () => layout.RewriteYaml(File.ReadAllBytes(yaml))));
        foreach (var t in e.Texts.Where(t => t.File is not null))
        {
            var name = layout.TextMember(t.Key)!;
            var path = Path.GetFullPath(Path.Combine(layout.ExperimentFolder, t.File!));
            var external = layout.Externals.FirstOrDefault(x => x.Name == name);
            var description = external is null ? $"input text '{t.Key}'"
                : $"input text '{t.Key}', from outside the experiment folder (the experiment's {external.Reference})";
            if (members.All(m => m.Name != name))
                members.Add(new Member(name, "text", description, FileBytes(path)));
        }
    }

    private List<string> AddOutputs(StageUnit unit, string kind, string description)
    {
        var manifest = UnitManifest.TryRead(unit.ManifestPath)!;
        var names = new List<string>();
        foreach (var o in manifest.Outputs)
        {
            var abs = ws.Absolute(o.Path);
            var name = kind is "figure" or "explorer" ? FigureMember(abs) : CacheMember(abs);
            members.Add(new Member(name, kind, $"{description} of {unit.Key}", FileBytes(abs), o.Sha256, unit.ManifestPath));
            names.Add(name);
        }
        return names;
    }

    private void AddUnit(StageUnit unit, UnitManifest manifest, IReadOnlyList<string> objects, IReadOnlyList<string> results)
    {
        var name = CacheMember(unit.ManifestPath);
        if (units.Any(u => u.ManifestMember == name)) return; // a Download unit shared by two model entries
        members.Add(new Member(name, "unit-manifest", $"{unit.Stage} manifest of {unit.Key}", FileBytes(unit.ManifestPath)));
        units.Add(new UnitRecord(unit, manifest, name, File.GetLastWriteTimeUtc(unit.ManifestPath), objects, results));
    }

    private static string ModelEntityId(ModelSpec m) => $"#model-{m.Key}";

    private JsonObject ModelRecord(ModelSpec m, UnitManifest download)
    {
        var files = new JsonArray();
        foreach (var o in download.Outputs.OrderBy(o => o.Path, StringComparer.Ordinal))
            files.Add(new JsonObject { ["name"] = Path.GetFileName(o.Path), ["sha256"] = o.Sha256, ["bytes"] = o.Bytes });
        return new JsonObject
        {
            ["key"] = m.Key,
            ["id"] = m.Id,
            ["source"] = m.Source,
            ["revision"] = m.Revision,
            ["dtype"] = m.DType,
            ["device"] = m.Device,
            ["path"] = layout.ModelName(m.Key),
            ["weights_sha256"] = download.Facts?.GetValueOrDefault("weights_sha256"),
            ["files"] = files,
        };
    }
}
