using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tta.Cache;

/// <summary>
/// What a stage unit's output depends on: the stage's code version, the config fields the unit reads, and content
/// hashes of its inputs (named components). The fingerprint is the SHA-256 of the sorted components, so any change
/// to one of them, and only such a change, makes the unit stale; the components are kept in the manifest to explain why.
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

    /// <summary>Adds a config value by its canonical JSON (key order fixed), so formatting of the YAML does not matter.</summary>
    public StageFingerprint AddConfig(string name, object? value) =>
        Add("config." + name, JsonSerializer.Serialize(value, CanonicalJson));

    public string Value
    {
        get
        {
            var sb = new StringBuilder();
            foreach (var (k, v) in components) sb.Append(k).Append('\0').Append(v).Append('\0');
            return Hashing.Sha256(sb.ToString());
        }
    }

    private static readonly JsonSerializerOptions CanonicalJson = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}

public static class Hashing
{
    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static string Sha256File(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>One output file of a unit, recorded so later runs can tell it is still the file this unit wrote.</summary>
public sealed record OutputRecord(string Path, string Sha256, long Bytes, long MtimeTicks);

/// <summary>
/// The record of a completed unit, written last (atomically) after all its outputs: a unit without a manifest, with a
/// different fingerprint, or whose outputs changed since, is stale. <see cref="Folders"/> are the cache and figures
/// folders it was built for (a change of <c>--figures</c> makes it stale); <see cref="Invalid"/> says why a
/// verification (<c>--verify</c>, Archive) found its outputs changed, so the next run rebuilds it.
/// </summary>
public sealed record UnitManifest(
    string Stage,
    string Unit,
    string Fingerprint,
    IReadOnlyDictionary<string, string> Components,
    IReadOnlyList<OutputRecord> Outputs,
    double Seconds,
    IReadOnlyDictionary<string, string>? Facts = null,
    ManifestFolders? Folders = null,
    string? Invalid = null)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The manifest at <paramref name="path"/>, or null when there is none or it cannot be read.</summary>
    public static UnitManifest? TryRead(string path) => Read(path, out _);

    /// <summary>
    /// The manifest at <paramref name="path"/>; null with <paramref name="problem"/> null when there is none, or null
    /// with <paramref name="problem"/> saying what is wrong when the file is not a valid manifest (it only makes the
    /// unit stale: it is rebuilt).
    /// </summary>
    public static UnitManifest? Read(string path, out string? problem)
    {
        problem = null;
        string text;
        try
        {
            if (!File.Exists(path)) return null;
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"its manifest {path} cannot be read ({e.Message})";
            return null;
        }
        try
        {
            var manifest = JsonSerializer.Deserialize<UnitManifest>(text, Json);
            if (manifest is { Stage: not null, Unit: not null, Fingerprint: not null, Components: not null, Outputs: not null }
                && manifest.Outputs.All(o => o is { Path: not null, Sha256: not null }))
                return manifest;
            problem = $"its manifest {path} is not a tta manifest (fields missing)";
        }
        catch (JsonException e)
        {
            problem = $"its manifest {path} is not valid JSON ({e.Message})";
        }
        return null;
    }

    public void Write(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    public OutputRecord Output(string suffix) => Outputs.First(o => o.Path.EndsWith(suffix, StringComparison.Ordinal));
}
