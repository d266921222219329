using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tta.Cache;

/// <summary>
/// What a unit depends on and produces, declared the way DVC declares a stage: its code version, the upstream units
/// whose outputs it reads (<c>deps</c>), the configuration values it reads (<c>params</c>) and where it writes
/// (<c>outs</c>). Declaring reads nothing from disk, so the unit graph can be built before anything exists;
/// <see cref="StageFingerprint.Of"/> turns a declaration into the fingerprint by one rule for every unit.
/// </summary>
public sealed class UnitDeclaration(string codeVersion)
{
    private readonly List<UnitInput> inputs = [];
    private readonly SortedDictionary<string, string> parameters = new(StringComparer.Ordinal);
    private readonly List<string> outputs = [];

    public string CodeVersion { get; } = codeVersion;

    /// <summary>Upstream units' outputs this unit reads, in declaration order.</summary>
    public IReadOnlyList<UnitInput> Inputs => inputs;

    /// <summary>Configuration values this unit reads, by name, as canonical JSON (YAML formatting does not matter).</summary>
    public IReadOnlyDictionary<string, string> Params => parameters;

    /// <summary>Files or folders the unit writes (absolute paths); what it wrote is recorded in its manifest.</summary>
    public IReadOnlyList<string> Outputs => outputs;

    /// <summary>The units this one reads, each once.</summary>
    public IEnumerable<StageUnit> Upstream => inputs.Select(i => i.Unit).DistinctBy(u => u.Id);

    /// <summary>Reads every output of <paramref name="unit"/>, or only the one named <paramref name="file"/>.</summary>
    public UnitDeclaration Reads(StageUnit unit, string? file = null)
    {
        inputs.Add(new UnitInput(unit, file));
        return this;
    }

    /// <summary>Reads a configuration value (serialised to canonical JSON with snake_case names).</summary>
    public UnitDeclaration Param(string name, object? value)
    {
        parameters[name] = JsonSerializer.Serialize(value, CanonicalJson);
        return this;
    }

    /// <summary>
    /// Reads every setting of <paramref name="section"/> (a settings record such as <c>FiguresSpec</c>), each its own
    /// param <c>PREFIX.field</c> (snake_case, as the experiment file names it), so <c>--explain</c> names the field
    /// that changed. Properties marked <see cref="System.Text.Json.Serialization.JsonIgnoreAttribute"/> (positions
    /// in the file, for messages) are not settings. A null section is one param: <c>PREFIX</c> = null.
    /// </summary>
    public UnitDeclaration Section(string prefix, object? section)
    {
        if (section is null) return Param(prefix, null);
        foreach (var property in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.IsDefined(typeof(JsonIgnoreAttribute), inherit: true)) continue;
            Param($"{prefix}.{FieldName(property.Name)}", property.GetValue(section));
        }
        return this;
    }

    /// <summary>The experiment file's name of a settings property: <c>CellPixels</c> → <c>cell_pixels</c>.</summary>
    public static string FieldName(string property) => JsonNamingPolicy.SnakeCaseLower.ConvertName(property);

    public UnitDeclaration Writes(string path)
    {
        outputs.Add(path);
        return this;
    }

    private static readonly JsonSerializerOptions CanonicalJson = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
