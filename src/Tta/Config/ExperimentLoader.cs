using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tta.Config;

/// <summary>
/// Loads and validates experiment YAML files into <see cref="Experiment"/> records. Every problem is reported as a
/// <see cref="ConfigException"/> whose message reads <c>file:line:column: what is wrong — how to fix it</c>.
/// </summary>
public static partial class ExperimentLoader
{
    public static IReadOnlyList<string> DTypes => Models.DTypes.Names;
    public static IReadOnlyList<string> Devices { get; } = ["cpu", "cuda"];
    public static IReadOnlyList<string> Formats { get; } = ["png", "pdf", "svg"];
    public static IReadOnlyList<string> Colormaps { get; } = ["cividis_r", "cividis", "viridis", "gray"];

    // Every hidden state of every stack: hidden_states.N, and encoder_/decoder_hidden_states.N of encoder–decoders.
    public static IReadOnlyList<string> DefaultPoints { get; } = ["*hidden_states.*"];
    public const int DefaultMaxTokens = 512;
    public const int MaxExtractBatch = 1024;
    public const string DefaultHubRevision = "main";
    public const int MinCellPixels = 2, MaxCellPixels = 64, DefaultCellPixels = 12;
    public const int MinDpi = 50, MaxDpi = 1200, DefaultDpi = 150;

    private static readonly string[] TopKeys = ["name", "license", "models", "texts", "extract", "metrics", "figures", "explorer", "executor"];
    private static readonly string[] ModelKeys = ["id", "source", "revision", "path", "name", "dtype", "compute_dtype", "device"];
    private static readonly string[] TextKeys = ["name", "text", "file"];
    private static readonly string[] ExtractKeys = ["points", "layers", "max_tokens", "batch"];
    private static readonly string[] ExecutorKeys = ["kind", "partition", "account", "time", "group_size"];
    public static IReadOnlyList<string> ExecutorKinds { get; } = ["local", "slurm"];
    private static readonly string[] FiguresKeys = ["kinds", "formats", "colormap", "token_labels", "cell_pixels", "dpi", "per_text"];

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

    private sealed partial class Reader(string file, string fullPath, IReadOnlyList<IMetricSettings> metricKinds) : YamlNodeReader(file)
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
            var explorer = Collect(() => ReadExplorer(Optional(top, "explorer"), texts), ExplorerSpec.Default);
            ThrowProblems();
            return new Experiment(name, fullPath, models, texts, extract, metrics, figures, license, executor)
            {
                Corpora = [.. corpora],
                Explorer = explorer,
            };
        }
    }
}
