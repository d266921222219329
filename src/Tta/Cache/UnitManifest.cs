using System.Text.Json;
using System.Text.Json.Nodes;
using Tta.Core;

namespace Tta.Cache;

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
