using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>The reference RO-Crate validator, ro-crate-js 3.7.2 (npm <c>ro-crate</c>), run on an archive's crate.</summary>
public static class RoCrateJs
{
    public const string Package = "ro-crate@3.7.2";

    /// <summary>
    /// Fails unless the crate of <paramref name="members"/> (an archive's members by name) passes every validator check
    /// and checker item, its licence included. False (the test skipped with a note) where node is missing outside CI.
    /// </summary>
    public static bool AssertValid(IReadOnlyDictionary<string, byte[]> members, ITestOutputHelper log)
    {
        var node = NodeTools.Require(Package, log);
        if (node is null) return false;
        var crateFile = Path.Combine(Repo.TempDir(), "ro-crate-metadata.json");
        File.WriteAllBytes(crateFile, members["ro-crate-metadata.json"]);
        var names = Path.Combine(Path.GetDirectoryName(crateFile)!, "members.json");
        File.WriteAllText(names, new JsonArray([.. members.Keys.Select(k => (JsonNode)k)]).ToJsonString());
        // ro-crate-js offline: its bundled RO-Crate context answers for the context URL, nothing else is reachable.
        var script = """
            const fs = require('fs'), path = require('path');
            const bundled = require(path.join(process.argv[2], 'lib', 'context.json'));
            globalThis.fetch = async (url) => {
              if (/^https:\/\/w3id\.org\/ro\/crate\/1\.[12]\/context$/.test(url)) return { ok: true, json: async () => bundled };
              throw new Error('offline: ' + url);
            };
            const { ROCrate, Validator, Checker } = require(process.argv[2]);
            (async () => {
              const json = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
              const crate = new ROCrate(json, { array: true, link: true });
              await crate.resolveContext();
              const validator = new Validator(crate);
              await validator.validate();
              const files = {};
              for (const f of JSON.parse(fs.readFileSync(process.argv[4], 'utf8'))) files[f] = { exists: true };
              validator.checkFiles(files);
              const checker = new Checker(crate);
              await checker.check();
              console.log(JSON.stringify({ results: validator.results, checks: checker.checklist.map(c => ({ name: c.name, status: c.status })) }));
            })().catch(e => { console.error(e); process.exit(2); });
            """;
        var scriptFile = Path.Combine(Path.GetDirectoryName(crateFile)!, "validate.js");
        File.WriteAllText(scriptFile, script);
        var (code, output) = TtaProcess.Run(TtaProcess.Command(node.Value.Node, [scriptFile, node.Value.Package, crateFile, names]));
        Assert.True(code == 0, output);
        var result = JsonNode.Parse(output.Split('\n').Last(l => l.StartsWith('{')))!;
        log.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var results = result["results"]!.AsArray();
        Assert.Empty(results.Where(r => r!["status"]!.GetValue<string>() is "error" or "warning").Select(r => r!.ToJsonString()));
        Assert.True(results.Count(r => r!["status"]!.GetValue<string>() == "success") >= 9, output);
        Assert.Contains(results, r => r!["message"]!.GetValue<string>() == "Found required property: license");
        Assert.All(result["checks"]!.AsArray(), c => Assert.True(c!["status"]!.GetValue<bool>(), c.ToJsonString()));
        return true;
    }
}
