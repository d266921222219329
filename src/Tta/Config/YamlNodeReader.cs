using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tta.Config;

/// <summary>
/// Reads typed values out of the YAML nodes of one experiment file, each bad value a <see cref="ConfigException"/>
/// at its <c>file:line:column</c> that says what is wrong and how to fix it. The loader reads its sections with it,
/// and each metric kind its own settings (<see cref="IMetricSettings.Read"/>).
/// </summary>
public partial class YamlNodeReader(string file)
{
    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntRx();

    private readonly List<ConfigException> problems = [];

    // The keys that unknown keys of each mapping were taken for ("did you mean 'models'?"), so that a required key
    // missing because it was misspelled is not reported a second time.
    private readonly Dictionary<YamlNode, HashSet<string>> guessed = new(ReferenceEqualityComparer.Instance);

    /// <summary>The file as it is named in messages.</summary>
    public string FileName => file;

    /// <summary>The problems recorded so far (<see cref="Collect{T}"/>, unknown keys in <see cref="Fields"/>).</summary>
    public IReadOnlyList<ConfigException> Problems => problems;

    /// <summary>
    /// Reads one independent part of the file. A problem in it is recorded and <paramref name="fallback"/> returned,
    /// so reading goes on and one run reports every problem of the file (<see cref="ThrowProblems"/>).
    /// </summary>
    public T Collect<T>(Func<T> read, T fallback)
    {
        ArgumentNullException.ThrowIfNull(read);
        try
        {
            return read();
        }
        catch (ConfigException e)
        {
            if (!e.FollowOn) problems.Add(e);
            return fallback;
        }
    }

    /// <summary>Whether <paramref name="read"/> ran without a problem (one is recorded, see <see cref="Collect{T}"/>).</summary>
    public bool Collect(Action read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return Collect(() => { read(); return true; }, false);
    }

    /// <summary>Records a problem and reads on (see <see cref="Collect{T}"/>).</summary>
    public void Report(ConfigException problem) => problems.Add(problem);

    /// <summary>Throws every recorded problem at once, ordered by position, if there is any.</summary>
    public void ThrowProblems()
    {
        if (problems.Count > 0) throw new ConfigException(problems);
    }

    public SourceSpan At(YamlNode n) => At(n.Start);

    public SourceSpan At(Mark m) => new(file, (int)Math.Max(1, m.Line), (int)Math.Max(1, m.Column));

    /// <summary>An error at <paramref name="n"/>: <c>file:line:column: WHAT — FIX</c>.</summary>
    public ConfigException Error(YamlNode n, string what, string fix) => new(At(n), $"{what} — {fix}");

    /// <summary>A non-empty list of distinct whole numbers ≥ 0.</summary>
    public List<int> IndexList(YamlNode node, string what, string item, string expected)
    {
        var items = Sequence(node, what, expected);
        if (items.Count == 0)
            throw Error(node, $"'{what}' is empty", $"write {expected}");
        var list = new List<int>();
        var seen = new Dictionary<int, YamlNode>();
        foreach (var it in items)
        {
            var v = Int(it, item);
            if (v < 0)
                throw Error(it, $"negative {item} {v}", $"{what} count from 0; use a number ≥ 0");
            if (seen.TryGetValue(v, out var firstAt))
                throw Error(it, $"{item} {v} is listed twice (first at {At(firstAt).Line}:{At(firstAt).Column})", $"list each {item} once");
            seen[v] = it;
            list.Add(v);
        }
        return list;
    }

    /// <summary>
    /// The mapping's entries by key. A non-mapping is an error; a non-scalar or unknown key is recorded as a problem
    /// (see <see cref="Collect{T}"/>) and left out, so the known keys beside it are still checked.
    /// </summary>
    public Dictionary<string, YamlEntry> Fields(YamlNode node, string where, string[] known, string? shape = null)
    {
        if (node is not YamlMappingNode map)
            throw Error(node, $"{where} must be a mapping of 'key: value' lines, found {Describe(node)}",
                shape ?? $"write it as 'key: value' lines (keys: {string.Join(", ", known)})");
        var result = new Dictionary<string, YamlEntry>(StringComparer.Ordinal);
        foreach (var entry in map.Children)
        {
            if (entry.Key is not YamlScalarNode { Value: { } key })
            {
                problems.Add(Error(entry.Key, $"a key in {where} is {Describe(entry.Key)}", "keys must be plain words"));
                continue;
            }
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                var guess = Suggestions.Closest(key, known);
                var fix = guess is null
                    ? $"valid keys here: {string.Join(", ", known)}"
                    : $"did you mean '{guess}'? (valid keys here: {string.Join(", ", known)})";
                problems.Add(Error(entry.Key, $"unknown key '{key}' in {where}", fix));
                if (guess is not null) (guessed.TryGetValue(map, out var keys) ? keys : guessed[map] = []).Add(guess);
                continue;
            }
            result[key] = new YamlEntry(entry.Key, entry.Value);
        }
        return result;
    }

    /// <summary>Whether an unknown key of <paramref name="map"/> was taken for <paramref name="key"/> (a misspelling, reported).</summary>
    public bool Guessed(YamlNode map, string key) => guessed.TryGetValue(map, out var keys) && keys.Contains(key);

    public YamlNode Required(Dictionary<string, YamlEntry> f, YamlNode owner, string key, string where, string fix)
    {
        if (!f.TryGetValue(key, out var entry))
        {
            var missing = Error(owner, $"missing required field '{key}' in {where}", fix);
            throw Guessed(owner, key) ? new ConfigException(missing.Message) { FollowOn = true } : missing;
        }
        if (IsNull(entry.Value))
            throw Error(entry.Key, $"'{key}' has no value", fix);
        return entry.Value;
    }

    public static YamlEntry? Optional(Dictionary<string, YamlEntry> f, string key) =>
        f.TryGetValue(key, out var e) ? e : null;

    public IList<YamlNode> Sequence(YamlNode node, string what, string expected)
    {
        if (node is YamlSequenceNode seq)
            return seq.Children;
        throw Error(node, $"'{what}' must be a list, found {Describe(node)}", $"write {expected}");
    }

    public string String(YamlNode node, string what)
    {
        if (node is YamlScalarNode s)
            return s.Value ?? "";
        throw Error(node, $"'{what}' must be a single value, found {Describe(node)}", $"write '{what}: <value>' on one line");
    }

    public string NonEmpty(YamlNode node, string what, string fix)
    {
        var v = String(node, what);
        if (v.Trim().Length == 0)
            throw Error(node, $"'{what}' is empty", fix);
        return v;
    }

    public int Int(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } v } && IntRx().IsMatch(v))
        {
            if (int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                return n;
            throw Error(node, $"{what} {v} is too large", "use a smaller whole number");
        }
        throw Error(node, $"{what} must be a whole number, found {Describe(node)}", "write a number without quotes or decimals, e.g. 3");
    }

    public bool Bool(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } v })
        {
            if (v is "true" or "True" or "TRUE") return true;
            if (v is "false" or "False" or "FALSE") return false;
        }
        throw Error(node, $"'{what}' must be true or false, found {Describe(node)}", $"write '{what}: true' or '{what}: false'");
    }

    public string OneOf(YamlNode node, string what, IReadOnlyList<string> valid)
    {
        var v = String(node, what);
        if (valid.Contains(v, StringComparer.Ordinal))
            return v;
        var guess = Suggestions.Closest(v, valid);
        var hint = guess is null ? "" : $"did you mean '{guess}'? ";
        throw Error(node, $"unknown {what} '{v}'", $"{hint}use one of: {List(valid)}");
    }

    public List<string> StringList(YamlNode node, string what, (string Item, IReadOnlyList<string> Valid)? allowed, string expected)
    {
        var items = Sequence(node, what, expected);
        if (items.Count == 0)
            throw Error(node, $"'{what}' is empty", $"remove '{what}' to use the default, or write {expected}");
        var list = new List<string>();
        var seen = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var it in items)
        {
            var v = allowed is { } a ? OneOf(it, a.Item, a.Valid) : NonEmpty(it, what, $"write {expected}");
            if (seen.TryGetValue(v, out var first))
                throw Error(it, $"'{v}' is listed twice in '{what}' (first at {At(first).Line}:{At(first).Column})", "list each value once");
            seen[v] = it;
            list.Add(v);
        }
        return list;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" } s
        && s.Tag.IsEmpty;

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping (key: value lines)",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "nothing",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unsupported value",
    };

    public static string List(IReadOnlyList<string> values) => string.Join(", ", values);
}
