using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tta.Config;
using YamlDotNet.RepresentationModel;

namespace Tta.Archive;

/// <summary>
/// Where an experiment's own files go in its archive, so no member name or text holds an absolute path and the
/// archived YAML still resolves: the experiment file's folder is <c>experiment/</c> (files below it keep their
/// relative place); a text file elsewhere is archived as <c>external/N/NAME</c>, and a local model folder elsewhere is
/// named <c>external/N</c> (not archived; its files are identified by sha256). The archived YAML's <c>file:</c> and
/// <c>path:</c> values are rewritten to point there, and the mapping (member ← YAML key) goes into the crate.
/// </summary>
internal sealed partial class ArchiveLayout
{
    public const string ExperimentPrefix = "experiment";
    public const string ExternalPrefix = "external";

    /// <summary>A file or folder outside the experiment folder: its archive name and the YAML key that names it.</summary>
    public sealed record External(string Name, string Reference, string What, bool Archived);

    private readonly Dictionary<string, string> textMembers = new(StringComparer.Ordinal);   // text key → member
    private readonly Dictionary<string, string> modelNames = new(StringComparer.Ordinal);    // model key → archive name
    private readonly Dictionary<string, string> yamlValues = new(StringComparer.Ordinal);    // "texts/3" → new value
    private readonly List<(string Absolute, string Replacement)> folders = [];
    private readonly List<External> externals = [];

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex UnsafeChar();

    public ArchiveLayout(Experiment e)
    {
        var yaml = Path.GetFullPath(e.SourcePath);
        ExperimentFolder = Path.GetDirectoryName(yaml)!;
        ExperimentMember = $"{ExperimentPrefix}/{Path.GetFileName(yaml)}";
        folders.Add((ExperimentFolder, ExperimentPrefix));
        var byPath = new Dictionary<string, string>(StringComparer.Ordinal);
        // i: the text's entry in the file's texts: list (a corpus's texts, contiguous, share one entry).
        for (int k = 0, i = -1; k < e.Texts.Count; k++)
        {
            var t = e.Texts[k];
            if (t.Corpus is null || k == 0 || e.Texts[k - 1].Corpus != t.Corpus) i++;
            if (t.File is null) continue;
            var abs = Path.GetFullPath(Path.Combine(ExperimentFolder, t.File));
            if (!byPath.TryGetValue(abs, out var member))
            {
                if (Cache.Workspace.IsUnder(abs, ExperimentFolder)) member = $"{ExperimentPrefix}/{Relative(abs)}";
                else
                {
                    var name = UnsafeChar().Replace(Path.GetFileName(abs), "_").TrimStart('.');
                    member = $"{ExternalPrefix}/{externals.Count + 1}/{(name.Length == 0 ? "text" : name)}";
                    externals.Add(new External(member, $"texts[{i}].file", $"input text '{t.Key}'", Archived: true));
                    folders.Add((abs, member));
                }
                byPath[abs] = member;
            }
            textMembers[t.Key] = member;
            SetValue($"texts/{i}", t.File, abs, member);
        }
        for (var i = 0; i < e.Models.Count; i++)
        {
            var m = e.Models[i];
            if (m.Source != ModelSources.Local || m.Path is null) continue;
            var abs = Path.GetFullPath(m.Path);
            string name;
            if (Cache.Workspace.IsUnder(abs, ExperimentFolder)) name = abs == ExperimentFolder ? ExperimentPrefix : $"{ExperimentPrefix}/{Relative(abs)}";
            else
            {
                name = $"{ExternalPrefix}/{externals.Count + 1}";
                externals.Add(new External(name, $"models[{i}].path", $"local model folder of '{m.Key}' (not archived)", Archived: false));
                folders.Add((abs, name));
            }
            modelNames[m.Key] = name;
            SetValue($"models/{i}", m.Path, abs, name);
        }
    }

    /// <summary>The folder archived as <c>experiment/</c>: the one holding the experiment file.</summary>
    public string ExperimentFolder { get; }

    public string ExperimentMember { get; }

    public IReadOnlyList<External> Externals => externals;

    /// <summary>Absolute files and folders and what the archive calls them, for <see cref="Redaction"/>.</summary>
    public IReadOnlyList<(string Absolute, string Replacement)> Folders => folders;

    /// <summary>The archive member of a text file, by text key.</summary>
    public string? TextMember(string key) => textMembers.GetValueOrDefault(key);

    /// <summary>What the archive calls a local model's folder (<c>experiment/…</c> or <c>external/N</c>).</summary>
    public string? ModelName(string key) => modelNames.GetValueOrDefault(key);

    private string Relative(string abs) => Path.GetRelativePath(ExperimentFolder, abs).Replace('\\', '/');

    /// <summary>
    /// Plans a new YAML value when the written one would not resolve to the archived place (a local model's path is
    /// held resolved, so it is always written again, relative).
    /// </summary>
    private void SetValue(string key, string written, string abs, string archiveName)
    {
        var relative = archiveName == ExperimentPrefix ? "." : Path.GetRelativePath(ExperimentPrefix, archiveName).Replace('\\', '/');
        var resolvesAlready = !Path.IsPathRooted(written) && Cache.Workspace.IsUnder(abs, ExperimentFolder);
        if (!resolvesAlready) yamlValues[key] = relative;
    }

    /// <summary>
    /// The experiment file with every <c>texts[i].file</c> and <c>models[i].path</c> that would not resolve in the
    /// archive replaced (in place: comments and layout stay).
    /// </summary>
    public byte[] RewriteYaml(byte[] original)
    {
        if (yamlValues.Count == 0) return original;
        var bom = original.Length >= 3 && original[0] == 0xEF && original[1] == 0xBB && original[2] == 0xBF;
        var text = Encoding.UTF8.GetString(original, bom ? 3 : 0, original.Length - (bom ? 3 : 0));
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var edits = new List<(int Start, int End, string Value)>();
        foreach (var (section, field) in new[] { ("texts", "file"), ("models", "path") })
        {
            if (!root.Children.TryGetValue(new YamlScalarNode(section), out var list) || list is not YamlSequenceNode items) continue;
            for (var i = 0; i < items.Children.Count; i++)
            {
                if (!yamlValues.TryGetValue($"{section}/{i}", out var value)) continue;
                if (items.Children[i] is YamlMappingNode item && item.Children.TryGetValue(new YamlScalarNode(field), out var node))
                    edits.Add(((int)node.Start.Index, (int)node.End.Index, Scalar(value)));
            }
        }
        var sb = new StringBuilder(text);
        foreach (var (start, end, value) in edits.OrderByDescending(x => x.Start))
            sb.Remove(start, end - start).Insert(start, value);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static string Scalar(string value) =>
        Regex.IsMatch(value, "^[A-Za-z0-9._/-]+$") && !value.StartsWith('-') ? value : JsonSerializer.Serialize(value);
}
