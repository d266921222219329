using System.Text;
using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// What a stage unit's output depends on, derived from its <see cref="UnitDeclaration"/> by one rule for every unit:
/// <c>stage</c> and <c>code</c>, one <c>param:NAME</c> per configuration value (canonical JSON), and one
/// <c>in:…</c> per upstream input — the recorded sha256 of the file (<c>in:Stage:Key/FILE</c>) when the input is one
/// file, else a hash over every recorded (name, sha256) of the upstream unit (<c>in:Stage:Key</c>), names relative to
/// the folder that holds them. Neither depends on where the cache or the project lies, so moving them (or
/// <c>--cache</c>) changes no output bytes. The fingerprint is the
/// SHA-256 of the sorted components, so any change to one of them, and only such a change, makes the unit stale; the
/// components are kept in the manifest to explain why (<c>--explain</c>).
/// </summary>
public sealed class StageFingerprint
{
    private readonly SortedDictionary<string, string> components = new(StringComparer.Ordinal);

    public StageFingerprint(string stage, string codeVersion)
    {
        Add("stage", stage);
        Add("code", codeVersion);
    }

    public IReadOnlyDictionary<string, string> Components => components;

    public StageFingerprint Add(string name, string value)
    {
        components[name] = value;
        return this;
    }

    public string Value
    {
        get
        {
            var sb = new StringBuilder();
            foreach (var (k, v) in components) sb.Append(k).Append('\0').Append(v).Append('\0');
            return Hashing.Sha256(sb.ToString());
        }
    }

    /// <summary>The folder (relative, ending in '/') that holds every one of <paramref name="records"/>.</summary>
    private static string CommonFolder(IReadOnlyList<OutputRecord> records)
    {
        var prefix = records[0].Path;
        foreach (var r in records.Skip(1))
        {
            var n = 0;
            while (n < prefix.Length && n < r.Path.Length && prefix[n] == r.Path[n]) n++;
            prefix = prefix[..n];
        }
        return prefix[..(prefix.LastIndexOf('/') + 1)];
    }

    /// <summary>The fingerprint of <paramref name="unit"/>'s declaration (see the class summary for the rule).</summary>
    public static StageFingerprint Of(StageUnit unit)
    {
        var declaration = unit.Declare();
        var fp = new StageFingerprint(unit.Stage, declaration.CodeVersion);
        foreach (var (name, json) in declaration.Params) fp.Add("param:" + name, json);
        foreach (var input in declaration.Inputs)
        {
            var manifest = StageRunner.Upstream(input.Unit.ManifestPath, $"{input.Unit.Stage} {input.Unit.Key}");
            var records = input.File is null
                ? manifest.Outputs
                : manifest.Outputs.Where(o => Path.GetFileName(o.Path) == input.File).ToList();
            if (records.Count == 0)
                throw new MissingInputException($"{input.Unit.Stage} {input.Unit.Key} has no output {input.File ?? "at all"}; it must be rebuilt");
            if (records.Count == 1)
                fp.Add($"in:{input.Unit.Id}/{Path.GetFileName(records[0].Path)}", records[0].Sha256);
            else
            {
                var folder = CommonFolder(records);
                fp.Add($"in:{input.Unit.Id}", Hashing.Sha256(string.Join("\n", records.Select(r => r.Path[folder.Length..] + "\0" + r.Sha256).Order(StringComparer.Ordinal))));
            }
        }
        return fp;
    }
}
