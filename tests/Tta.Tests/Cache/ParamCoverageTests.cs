using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using Tta.Cache;
using Tta.Config;
using Tta.Execution;
using Tta.Metrics;

namespace Tta.Tests.Cache;

/// <summary>
/// Every field of every experiment section reaches the params of the units that read it: a reflection test lists the
/// spec types' fields, edits each one in a built tiny experiment, and checks that exactly its readers go stale, each
/// with <c>param:FIELD changed</c>. A field that reaches no unit fails, unless it is listed below with a reason.
/// </summary>
[Trait("Lane", "Full")]
public class ParamCoverageTests
{
    // Everything configured, so each field can be edited in place.
    private const string BaseYaml = """
        name: tiny
        models:
          - id: bert-tiny
            source: local
            path: model
            name: tiny
            dtype: float32
            device: cpu
        texts:
          - name: one
            file: texts/one.txt
          - name: two
            text: "a dog ran to the park!"
        extract:
          points: ["*hidden_states.*"]
          layers: [0, 1, 2]
          max_tokens: 64
        metrics:
          similarity: [cosine]
          attention: { layers: [0], heads: [0], encoder_heads: [1], decoder_heads: [0] }
          nearest: { k: 2 }
          trajectory: true
          projection: true
          norm: true
          statistics: { min_occurrences: 2, max_types: 10 }
          cka: { within: true, pairs: true }
        figures:
          kinds: [similarity, attention, nearest]
          formats: [png]
          colormap: cividis_r
          token_labels: true
          cell_pixels: 4
          dpi: 50
        explorer:
          texts: [one, two]
        license: CC-BY-4.0
        """;

    /// <summary>Fields that are no unit's param, and why.</summary>
    private static readonly Dictionary<string, string> NotParams = new()
    {
        ["name"] = "the experiment's name is in every unit's id and path, not a setting of one",
        ["license"] = "the licence of the results: only Archive reads it, for the archive's metadata",
        ["executor"] = "where units run (this machine or Slurm), not what they compute",
        ["model.name"] = "the model's key: in its units' ids and paths",
        ["model.compute_dtype"] = "read resolved (auto: by the CPU), a param only where that differs from dtype, so float32 models keep their fingerprints: Extract/ComputeDTypeExtractTests edits it",
        ["text.name"] = "the text's key: in its units' ids and paths",
        ["text.corpus"] = "the corpus a text comes from: in its key (<name>-<row>), so in its units' ids and paths",
        ["corpora.name"] = "the corpus's name: the prefix of its texts' keys, in their units' ids and paths",
        ["corpora.path"] = "where the corpus file is: each of its texts' units reads its row's text (param text), so moving the file rebuilds nothing",
        ["corpora.sha256"] = "read from the corpus file, not set in the experiment: each of its texts' units reads its row's text (param text)",
        ["corpora.rows"] = "read from the corpus file, not set in the experiment",
        ["corpora.texts"] = "how many texts limit or sample took: the texts are units of their own",
        ["metrics.logit_lens.k"] = "the logit lens unit declares its whole section (metrics.logit_lens); it needs a model with an LM head, which this test's bert-tiny is not",
        ["metrics.cka.pairs"] = "which pairs of models get a CKA unit: it names units (cka-A-vs-B) rather than changing one, and this test has one model",
    };

    // The units of the tiny experiment by what they are (one model, texts one and two).
    private const string Download = "Download:", Extract = "Extract:tiny/tiny/", Similarity = "Metrics:similarity",
        Attention = "Metrics:attention", Nearest = "Metrics:nearest", Figures = "Figures:tiny/tiny/", Explorer = "Figures:tiny/explorer";

    /// <summary>What the unit is, from its id: the similarity unit's key has no kind suffix.</summary>
    private static string Role(StageUnit u) => u switch
    {
        StudyUnit study => "Metrics:" + study.Kind,
        _ => u.Stage switch
        {
            "Metrics" => "Metrics:" + (u.Key.Split('/') is { Length: 4 } parts ? parts[3] : "similarity"),
            "Extract" or "Figures" when u.Key.EndsWith("/explorer", StringComparison.Ordinal) => u.Id,
            "Extract" or "Figures" => u.Id[..(u.Id.LastIndexOf('/') + 1)],
            _ => u.Stage + ":",
        },
    };

    /// <summary>
    /// Each field: the edit (old text → new text of the experiment file, optionally for one text) and the units
    /// that read it with the param each names. Units whose key names the field (the model's path) or that exist only
    /// while it is on (switch metrics) are checked on the unit graph instead (<see cref="IdentityFields"/>).
    /// </summary>
    private static readonly Dictionary<string, (string From, string To, (string Role, string Param)[] Readers)> Edits = new()
    {
        ["model.id"] = ("id: bert-tiny", "id: bert-tiny-b", [(Download, "id"), (Extract, "model.id")]),
        ["model.dtype"] = ("dtype: float32", "dtype: bfloat16", [(Extract, "model.dtype")]),
        ["model.device"] = ("device: cpu", "device: cuda", [(Extract, "model.device")]),
        ["text.text"] = ("park!", "park?", [(Extract, "text")]),
        ["text.file"] = ("texts/one.txt", "texts/one-b.txt", [(Extract, "text")]),
        ["extract.points"] = ("[\"*hidden_states.*\"]", "[\"hidden_states.*\"]", [(Extract, "extract.points")]),
        ["extract.layers"] = ("layers: [0, 1, 2]", "layers: [0, 2]", [(Extract, "extract.layers")]),
        ["extract.max_tokens"] = ("max_tokens: 64", "max_tokens: 65", [(Extract, "extract.max_tokens")]),
        ["metrics.similarity"] = ("[cosine]", "[cosine, dot]", [(Similarity, "metrics.similarity")]),
        ["metrics.attention.layers"] = ("{ layers: [0]", "{ layers: [1]", [(Extract, "metrics.attention.layers"), (Attention, "metrics.attention.layers")]),
        ["metrics.attention.heads"] = ("heads: [0], enc", "heads: [1], enc", [(Attention, "metrics.attention.heads")]),
        ["metrics.attention.encoder_heads"] = ("encoder_heads: [1]", "encoder_heads: [0]", [(Attention, "metrics.attention.encoder_heads")]),
        ["metrics.attention.decoder_heads"] = ("decoder_heads: [0]", "decoder_heads: [1]", [(Attention, "metrics.attention.decoder_heads")]),
        ["metrics.nearest.k"] = ("k: 2", "k: 3", [(Nearest, "metrics.nearest.k")]),
        ["figures.kinds"] = ("kinds: [similarity, attention, nearest]", "kinds: [similarity, attention]", [(Figures, "figures.kinds")]),
        ["figures.formats"] = ("formats: [png]", "formats: [png, svg]", [(Figures, "figures.formats")]),
        ["figures.colormap"] = ("colormap: cividis_r", "colormap: viridis", [(Figures, "figures.colormap"), (Explorer, "figures.colormap")]),
        ["figures.token_labels"] = ("token_labels: true", "token_labels: false", [(Figures, "figures.token_labels")]),
        ["figures.cell_pixels"] = ("cell_pixels: 4", "cell_pixels: 5", [(Figures, "figures.cell_pixels")]),
        ["figures.dpi"] = ("dpi: 50", "dpi: 60", [(Figures, "figures.dpi")]),
        ["explorer.keys"] = ("texts: [one, two]", "texts: [two]", [(Explorer, "explorer.texts")]),
        ["explorer.first"] = ("texts: [one, two]", "texts: 2", [(Explorer, "explorer.texts")]),
        ["metrics.statistics.min_occurrences"] = ("min_occurrences: 2", "min_occurrences: 3", [("Metrics:statistics", "metrics.statistics.min_occurrences")]),
        ["metrics.statistics.max_types"] = ("max_types: 10", "max_types: 11", [("Metrics:statistics", "metrics.statistics.max_types")]),
    };

    /// <summary>Fields that name units: the edit replaces the units named by the first role with new ones that declare the param.</summary>
    private static readonly Dictionary<string, (string From, string To, string Role, string? Param)> IdentityFields = new()
    {
        ["model.path"] = ("path: model", "path: model-b", Download, "path"),
        ["model.source"] = ("source: local\n    path: model", "source: hub", Download, "source"),
        ["model.revision"] = ("source: local\n    path: model", "source: hub\n    revision: v2", Download, "revision"),
        ["metrics.trajectory"] = ("trajectory: true", "trajectory: false", "Metrics:trajectory", null),
        ["metrics.projection"] = ("projection: true", "projection: false", "Metrics:projection", null),
        ["metrics.norm"] = ("norm: true", "norm: false", "Metrics:norm", null),
        ["metrics.cka.within"] = ("within: true", "within: false", "Metrics:cka", null),
    };

    /// <summary>Every field of the experiment's sections, by the name the experiment file gives it (section.field).</summary>
    public static IEnumerable<string> ExperimentFields()
    {
        foreach (var property in typeof(Experiment).GetProperties())
        {
            var name = UnitDeclaration.FieldName(property.Name);
            if (property.Name == nameof(Experiment.SourcePath)) continue; // where the file is, not a field of it
            if (property.Name == nameof(Experiment.Metrics))
            {
                foreach (var kind in MetricKinds.Default.Settings)
                {
                    var settings = SettingsType(kind);
                    if (settings == typeof(bool) || typeof(IEnumerable).IsAssignableFrom(settings)) yield return $"metrics.{kind.Name}";
                    else foreach (var f in Fields(settings)) yield return $"metrics.{kind.Name}.{f}";
                }
                continue;
            }
            var type = property.PropertyType;
            var element = type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0] : null;
            if (element is not null)
                foreach (var f in Fields(element)) yield return $"{name.TrimEnd('s')}.{f}"; // models → model.id, texts → text.file
            else if (type.IsClass && type != typeof(string) && property.Name != nameof(Experiment.Executor))
                foreach (var f in Fields(type)) yield return $"{name}.{f}";
            else yield return name;
        }
    }

    /// <summary>The settings of a record, as the file names them; positions (for messages) are not settings.</summary>
    private static IEnumerable<string> Fields(Type record) =>
        record.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => !p.IsDefined(typeof(JsonIgnoreAttribute)) && p.PropertyType != typeof(SourceSpan))
            .Select(p => p.Name switch { "Key" => "name", "DType" => "dtype", "ComputeDType" => "compute_dtype", _ => UnitDeclaration.FieldName(p.Name) });

    private static Type SettingsType(IMetricSettings kind)
    {
        for (var t = kind.GetType(); t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(KindSettings<>)) return t.GetGenericArguments()[0];
        throw new InvalidOperationException($"metric kind {kind.Name} has no settings type");
    }

    [Fact]
    public void EveryFieldIsAnEditAUnitReadsOrIsListedWithAReason()
    {
        var fields = ExperimentFields().ToList();
        var covered = Edits.Keys.Concat(IdentityFields.Keys).Concat(NotParams.Keys).ToHashSet();
        var missing = fields.Where(f => !covered.Contains(f)).ToList();
        Assert.True(missing.Count == 0, $"fields no unit reads and no test edits: {string.Join(", ", missing)} — make a unit declare it (UnitDeclaration.Section) and add its edit here, or list it in NotParams with a reason");
        var unknown = covered.Where(f => !fields.Contains(f)).ToList();
        Assert.True(unknown.Count == 0, $"listed but not a field: {string.Join(", ", unknown)}");
    }

    private static TinyWorkspace Built()
    {
        var ws = new TinyWorkspace(BaseYaml);
        File.WriteAllText(Path.Combine(ws.Root, "experiments", "texts", "one-b.txt"), "the cat sat on a mat.");
        ws.RunAll();
        return ws;
    }

    private static Dictionary<string, (StageUnit Unit, UnitStatus Status)> Statuses(TinyWorkspace ws, string yaml)
    {
        ws.WriteExperiment(yaml);
        using var context = new RunContext(Workspace.At(ws.Root), [ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings)], TextWriter.Null);
        return UnitGraph.For(context).Units.ToDictionary(u => u.Id, u => (u, StageRunner.Check(u, context.Workspace)));
    }

    [Fact]
    public void EditingEachFieldMakesExactlyItsReadersStaleNamingIt()
    {
        var ws = Built();
        var baseline = Statuses(ws, BaseYaml);
        Assert.All(baseline.Values, s => Assert.True(s.Status.UpToDate, $"{s.Unit.Id}: {string.Join("; ", s.Status.Reasons)}"));
        var problems = new List<string>();
        foreach (var (field, (from, to, readers)) in Edits)
        {
            Assert.Contains(from, BaseYaml);
            var statuses = Statuses(ws, BaseYaml.Replace(from, to, StringComparison.Ordinal));
            Assert.Equal(baseline.Keys.Order(), statuses.Keys.Order()); // the same units
            foreach (var (id, (unit, status)) in statuses)
            {
                var role = Role(unit);
                var reads = readers.Where(r => r.Role == role).Select(r => $"param:{r.Param} changed").ToList();
                // The text edits touch one text: its units read it, the other text's do not.
                var forThisText = field switch { "text.text" => unit.Key.Contains("/two", StringComparison.Ordinal), "text.file" => unit.Key.Contains("/one", StringComparison.Ordinal), _ => true };
                if (reads.Count > 0 && forThisText)
                {
                    if (status.UpToDate || !reads.All(status.Reasons.Contains))
                        problems.Add($"{field}: {id} reads it but is {(status.UpToDate ? "up to date" : "stale for: " + string.Join("; ", status.Reasons))}");
                }
                else if (!status.UpToDate && !(role == Explorer && status.Reasons.SequenceEqual(["param:experiment_file changed"])))
                    // The explorer shows the experiment file, so every edit makes it stale for that, and that alone.
                    problems.Add($"{field}: {id} does not read it but is stale: {string.Join("; ", status.Reasons)}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void FieldsThatNameUnitsReplaceThemWithUnitsThatDeclareThem()
    {
        var ws = Built();
        Directory.CreateDirectory(Path.Combine(ws.Root, "experiments", "model-b"));
        foreach (var f in Directory.GetFiles(Path.Combine(ws.Root, "experiments", "model")))
            File.Copy(f, Path.Combine(ws.Root, "experiments", "model-b", Path.GetFileName(f)));
        var baseline = Statuses(ws, BaseYaml);
        foreach (var (field, (from, to, role, param)) in IdentityFields)
        {
            var edited = Statuses(ws, BaseYaml.Replace(from, to, StringComparison.Ordinal));
            var before = baseline.Values.Where(s => Role(s.Unit) == role).Select(s => s.Unit.Id).ToList();
            var after = edited.Values.Where(s => Role(s.Unit) == role).ToList();
            Assert.NotEmpty(before);
            if (param is null)
            {
                Assert.True(after.Count == 0, $"{field}: turning it off leaves {string.Join(", ", after.Select(a => a.Unit.Id))}");
                // Nothing else is rebuilt for it (the explorer shows the experiment file).
                Assert.All(edited.Values.Where(s => !s.Status.UpToDate), s => Assert.Equal(Explorer, Role(s.Unit)));
                continue;
            }
            Assert.NotEmpty(after);
            foreach (var (unit, status) in after)
            {
                Assert.DoesNotContain(unit.Id, before); // a new unit, never built
                Assert.False(status.UpToDate, unit.Id);
                Assert.True(unit.Declare().Params.ContainsKey(param), $"{field}: {unit.Id} does not declare param:{param}");
            }
        }
    }

    [Fact]
    public void FiguresUnitsRecordWhichFallbackFontsDrewThem()
    {
        // Not a field of the experiment, but an input of every figure with a CJK, emoji or Arabic label: figures drawn
        // before a font package was installed (boxes) must go stale when it is. A text that needs no fallback font
        // records none, so its figures stay up to date on machines (or Slurm nodes) with other fonts.
        Assert.False(Tta.Figures.LabelFonts.NeedsFallback("The café's naïve dog ran — 42 €!"));
        foreach (var text in new[] { "a 日本語 b", "ok 👍", "مرحبا", "שלום", "ok 👩\u200D💻" })
            Assert.True(Tta.Figures.LabelFonts.NeedsFallback(text), text);

        var ws = Built();
        string Recorded(string text) => System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(
            Path.Combine(ws.CacheDir, "figures", "tiny", "tiny", text, "manifest.json")))!["components"]!["param:label_fonts"]!.GetValue<string>();
        Assert.Equal("\"none needed\"", Recorded("one")); // params are recorded as JSON
        ws.WriteExperiment(BaseYaml.Replace("a dog ran to the park!", "a dog 🐕 ran to 公园!", StringComparison.Ordinal));
        var (_, output) = ws.Cli("status", "--stage=Figures", "--explain");
        Assert.Contains("param:label_fonts", output);
        ws.RunAll();
        Assert.Equal($"\"{Tta.Figures.LabelFonts.InstalledSignature}\"", Recorded("two"));
        Assert.Matches("^[0-9a-f]{16}$", Tta.Figures.LabelFonts.InstalledSignature);
    }

    [Fact]
    public void ExplainNamesTheChangedField()
    {
        var ws = Built();
        ws.WriteExperiment(BaseYaml.Replace("colormap: cividis_r", "colormap: viridis", StringComparison.Ordinal));
        var (code, output) = ws.Cli("status", "--stage=Figures", "--explain");
        Assert.Equal(TtaCli.Stale, code);
        Assert.Contains("Figures tiny/tiny/one: stale — param:figures.colormap changed", output);
        Assert.Contains("Figures tiny/explorer: stale — ", output);
        Assert.DoesNotContain("param:figures changed", output);
    }
}
