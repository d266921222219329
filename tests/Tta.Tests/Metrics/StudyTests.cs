using System.Globalization;
using Tta.Cache;
using Tta.Config;
using Tta.Metrics;
using Tta.Metrics.Cka;
using Tta.Metrics.Statistics;
using Tta.Pipeline;

namespace Tta.Tests.Metrics;

/// <summary>
/// The study kinds end to end on the bert-tiny fixture: the statistics files against DuckDB SQL over the
/// activations Parquet (an independent reader and computation), CKA's defining properties on real activations, and
/// which units a new text makes stale.
/// </summary>
public class StudyTests
{
    private static readonly string[] Texts =
    [
        "the cat sat on the mat.", "a dog ran to the park!", "the cat ran to the mat and the dog sat.",
        "on the park the cat sat.", "a mat, a cat, a dog.", "the dog and the cat ran on.",
    ];

    private const string StudyMetrics = "metrics:\n  statistics: { min_occurrences: 2 }\n  cka: true\n";

    private static string Yaml(int texts) =>
        "name: tiny\nmodels:\n  - id: bert-tiny\n    source: local\n    path: model\n    name: tiny\ntexts:\n"
        + string.Concat(Texts.Take(texts).Select((t, i) => $"  - name: t{i}\n    text: \"{t}\"\n"))
        + StudyMetrics + "figures:\n  formats: [png]\n  cell_pixels: 8\n";

    private static void Run(TinyWorkspace ws, string stage = "Figures")
    {
        var (code, output) = ws.Cli("run", $"--stage={stage}");
        Assert.True(code == 0, $"{stage} failed: {output}");
    }

    private static void RunAll(TinyWorkspace ws)
    {
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" }) Run(ws, stage);
    }

    private static List<object?[]> Query(string sql) => MetricsTests.Query(sql);

    [Fact]
    [Trait("Lane", "Full")]
    public async Task StatisticsAgreeWithDuckDbOverTheActivations()
    {
        var ws = new TinyWorkspace(Yaml(Texts.Length));
        RunAll(ws);
        var file = Path.Combine(ws.CacheDir, "metrics", "tiny", StudyUnit.Folder, "statistics-tiny.parquet");
        var line = Assert.Single(await StatisticsFigures.ReadAsync(file));
        Assert.Equal("hidden_states", line.Series);
        var glob = "'" + Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "*", "activations.parquet").Replace("'", "''") + "'";
        var states = $"(SELECT filename AS text, layer, position, values FROM read_parquet({glob}, filename = true) WHERE point LIKE 'hidden_states.%')";
        // Per layer: the mean norm; the mean cosine over pairs of tokens of different texts; per text the mean
        // cosine over pairs of its distinct tokens, then the mean over texts.
        var sql = $"""
            WITH s AS {states},
            norms AS (SELECT layer, avg(sqrt(list_dot_product(values, values))) AS norm FROM s GROUP BY layer),
            across AS (SELECT a.layer, avg(list_cosine_similarity(a.values, b.values)) AS aniso
                       FROM s a JOIN s b ON a.layer = b.layer AND a.text <> b.text GROUP BY a.layer),
            within AS (SELECT layer, avg(sim) AS intra FROM
                         (SELECT a.layer, a.text, avg(list_cosine_similarity(a.values, b.values)) AS sim
                          FROM s a JOIN s b ON a.layer = b.layer AND a.text = b.text AND a.position <> b.position
                          GROUP BY a.layer, a.text) GROUP BY layer)
            SELECT norms.layer, norm, aniso, intra FROM norms JOIN across USING (layer) JOIN within USING (layer) ORDER BY layer
            """;
        var rows = Query(sql);
        Assert.Equal(line.Layers.Length, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(line.Layers[i], Convert.ToInt32(rows[i][0], CultureInfo.InvariantCulture));
            foreach (var (measure, column) in new[] { ("mean_norm", 1), ("anisotropy", 2), ("intra_text_similarity", 3) })
            {
                var expected = Convert.ToDouble(rows[i][column], CultureInfo.InvariantCulture);
                var actual = line.Values[measure][i];
                Assert.True(Math.Abs(actual - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)),
                    $"layer {line.Layers[i]} {measure}: tta {actual}, DuckDB {expected}");
            }
        }
        // Every text's tokens are counted once per layer.
        var tokens = Convert.ToInt64(Query($"SELECT count(*) FROM {states} WHERE layer = 0")[0][0], CultureInfo.InvariantCulture);
        Assert.All(line.Values["tokens"], v => Assert.Equal(tokens, (long)v));
    }

    [Fact]
    [Trait("Lane", "Full")]
    public async Task CkaOfAModelWithItselfIsOneOnTheDiagonalAndSymmetric()
    {
        var ws = new TinyWorkspace(Yaml(4));
        RunAll(ws);
        var map = await CkaFigures.ReadAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", StudyUnit.Folder, "cka-tiny.parquet"));
        Assert.Equal("tokens", map.Pairing);
        var n = map.LayersA.Length;
        Assert.Equal(n, map.LayersB.Length);
        for (var i = 0; i < n; i++)
        {
            Assert.InRange(map.Values[i * n + i], 1 - 1e-5, 1 + 1e-5);
            for (var j = 0; j < n; j++)
            {
                Assert.InRange(map.Values[i * n + j], -1e-6, 1 + 1e-5);
                Assert.Equal(map.Values[i * n + j], map.Values[j * n + i], 5);
            }
        }
        // The study's figures: one per statistic and the CKA map, with what each shows recorded.
        var figures = Directory.GetFiles(Path.Combine(ws.FiguresDir, "tiny", StudyFiguresUnit.Folder), "*.png").Select(Path.GetFileName).Order().ToList();
        Assert.Contains("cka-tiny.png", figures);
        Assert.Equal(StatisticsFigures.Drawn.Count, figures.Count(f => f!.StartsWith("statistics-", StringComparison.Ordinal)));
    }

    [Fact]
    [Trait("Lane", "Full")]
    public async Task AppendingTenRowsToTheCorpusRebuildsOnlyThoseTextsAndTheStudy()
    {
        var ws = new TinyWorkspace("name: tiny\nmodels:\n  - id: bert-tiny\n    source: local\n    path: model\n    name: tiny\n"
            + "texts:\n  - name: s\n    corpus: texts/corpus.txt\n" + StudyMetrics + "figures:\n  formats: [png]\n  cell_pixels: 8\n");
        var corpus = Path.Combine(ws.Root, "experiments", "texts", "corpus.txt");
        await File.WriteAllLinesAsync(corpus, Texts);
        RunAll(ws);
        var before = Directory.GetFiles(ws.CacheDir, "*.parquet", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        await File.AppendAllLinesAsync(corpus, Enumerable.Range(1, 10).Select(i => $"the cat number {i} sat on the mat."));
        using (var context = new RunContext(new Workspace(ws.Root, ws.CacheDir, ws.FiguresDir),
            [ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings)], TextWriter.Null))
        {
            var stale = Stages.StageNames.SelectMany(stage => Stages.Check(stage, context, forced: false))
                .Where(s => !s.UpToDate).Select(s => s.Unit.Id).ToHashSet(StringComparer.Ordinal);
            var added = Enumerable.Range(Texts.Length + 1, 10).Select(r => $"s-{r}").ToList();
            // Before the study's units rebuild, its figures still read their recorded files; the explorer reads the corpus' keys.
            Assert.Equal(added.SelectMany(t => new[] { $"Extract:tiny/tiny/{t}", $"Metrics:tiny/tiny/{t}" })
                .Concat(["Metrics:tiny/study/statistics-tiny", "Metrics:tiny/study/cka-tiny", "Figures:tiny/explorer"]).Order(StringComparer.Ordinal),
                stale.Order(StringComparer.Ordinal));
        }
        RunAll(ws);
        // The earlier texts' files were not rewritten; the study's were.
        foreach (var (file, time) in before)
            if (file.Contains(StudyUnit.Folder, StringComparison.Ordinal)) Assert.NotEqual(time, File.GetLastWriteTimeUtc(file));
            else Assert.Equal(time, File.GetLastWriteTimeUtc(file));
        var metadata = await Tta.Store.VectorStoreReader.ReadMetadataAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", StudyUnit.Folder, "statistics-tiny.parquet"));
        Assert.Equal($"{Texts.Length + 10}", metadata[Tta.Store.StoreKeys.CorpusTexts]);
    }
}
