using System.Globalization;
using System.IO.Compression;
using DuckDB.NET.Data;
using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Extract;
using Tta.Figures;
using Tta.Metrics;
using YamlDotNet.RepresentationModel;
using Tta.Pipeline;
using Tta.Metrics.Trajectory;
using Tta.Store;

namespace Tta.Tests.Metrics;

/// <summary>
/// The metric kind registry: the <c>norm</c> kind against an independent computation, and a kind defined here, in the
/// test assembly, and registered at run time (nothing else in tta edited) going through every stage, the archive,
/// Verify and the explorer.
/// </summary>
public class MetricKindTests
{
    private static string WithMetrics(string metrics) => TinyWorkspace.DefaultYaml.Replace("figures:", metrics + "figures:");

    [Fact]
    public void NormMatchesTheL2NormOfEachStoredHiddenStateComputedFromDuckDb()
    {
        var ws = new TinyWorkspace(WithMetrics("metrics:\n  norm: true\n"));
        ws.RunAll();
        var activations = Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "activations.parquet");
        var norm = Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", "one", "norm.parquet");

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        List<(string Point, int Layer, int Position, double[] Values)> Rows(string sql)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = sql;
            using var r = cmd.ExecuteReader();
            var rows = new List<(string, int, int, double[])>();
            while (r.Read())
                rows.Add((r.GetString(0), r.GetInt32(1), r.GetInt32(2),
                    ((System.Collections.IEnumerable)r.GetValue(3)).Cast<object>().Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray()));
            return rows;
        }
        // bert-tiny stores hidden_states.0..2 (the default points): ‖h‖ in float64 from the stored float32 values.
        var expected = Rows($"SELECT point, layer, position, \"values\" FROM read_parquet('{activations}') WHERE point LIKE 'hidden_states.%' ORDER BY position, layer")
            .GroupBy(r => r.Position).ToDictionary(g => g.Key, g => g.Select(r => Math.Sqrt(r.Values.Sum(v => v * v))).ToArray());
        Assert.Equal(3, expected[0].Length);
        var stored = Rows($"SELECT point, layer, position, \"values\" FROM read_parquet('{norm}') WHERE measure = 'l2' ORDER BY position");
        Assert.Equal(expected.Count, stored.Count);
        foreach (var row in stored)
        {
            Assert.Equal(("hidden_states", -1), (row.Point, row.Layer));
            Assert.Equal(expected[row.Position].Length, row.Values.Length);
            for (var l = 0; l < row.Values.Length; l++)
                Assert.Equal(expected[row.Position][l], row.Values[l], expected[row.Position][l] * 1e-6);
        }

        // One line figure per series, recorded as a norm figure for the gallery.
        var experiment = Tta.Config.ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings);
        var figures = new FiguresUnit(Workspace.At(ws.Root, ws.CacheDir, ws.FiguresDir), experiment, experiment.Models[0], experiment.Texts[0], MetricKinds.Default);
        var records = FiguresUnit.Records(UnitManifest.TryRead(figures.ManifestPath)!);
        var normFigure = Assert.Single(records, r => r.Value.Kind == "norm");
        Assert.Equal(new FigureRecord("norm", "encoder", "hidden_states", -1, null, "l2"), normFigure.Value);
        Assert.True(File.Exists(Path.Combine(ws.FiguresDir, "tiny", "tiny", "one", normFigure.Key + ".png")));
    }

    [Fact]
    public void AKindRegisteredAtRunTimeGoesThroughEveryStageTheArchiveAndVerify()
    {
        var kinds = MetricKinds.Default.With(new ProbeKind());
        var ws = new TinyWorkspace(WithMetrics("metrics:\n  probe: { scale: 2 }\n")) { Kinds = kinds };
        // Its settings are read and checked by the kind, at file:line:column.
        var bad = new TinyWorkspace(WithMetrics("metrics:\n  probe: { scale: -1 }\n")) { Kinds = kinds };
        var (badCode, badOutput) = bad.Cli("run", "--stage=Download");
        Assert.NotEqual(0, badCode);
        Assert.Matches(@"tiny\.yaml:\d+:\d+: probe scale -1 is out of range — use a number ≥ 0", badOutput);

        ws.RunAll();
        var (code, output) = ws.Cli("archive");
        Assert.True(code == 0, output);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(ws.FiguresDir, "archives"), "*.zip"));
        using (var zip = ZipFile.OpenRead(archive))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("cache/metrics/tiny/tiny/one/probe.parquet", names);
            Assert.Contains(names, n => n.StartsWith("figures/tiny/tiny/two/", StringComparison.Ordinal) && n.EndsWith("-probe-mean.png", StringComparison.Ordinal));
            var page = new StreamReader(zip.GetEntry("figures/tiny/index.html")!.Open()).ReadToEnd();
            Assert.Contains("probe means", page); // the kind's gallery caption, from the recorded figure
        }
        (code, output) = ws.Cli("verify", $"--archive={archive}");
        Assert.True(code == 0, output);
        Assert.Contains("regenerated", output);
    }

    [Fact]
    public void ARegistryIsFixedWhenMadeAndTheRunsContextCarriesIt()
    {
        var kinds = MetricKinds.Default.With(new ProbeKind());
        Assert.Equal([.. MetricKinds.Default.Names, "probe"], kinds.Names);
        Assert.DoesNotContain("probe", MetricKinds.Default.Names); // With makes a new registry
        var twice = Assert.Throws<InvalidOperationException>(() => kinds.With(new ProbeKind()));
        Assert.Contains("registered twice", twice.Message);
        var ws = Workspace.At(Repo.TempDir(), null, null);
        using (var given = kinds.AttachTo(new RunContext(ws, [], TextWriter.Null)))
            Assert.Same(kinds, MetricKinds.Of(given));
        using var plain = new RunContext(ws, [], TextWriter.Null);
        Assert.Same(MetricKinds.Default, MetricKinds.Of(plain));
        Assert.Throws<InvalidOperationException>(() => kinds.AttachTo(plain)); // read already: a run keeps one registry
    }

    /// <summary>
    /// A kind that lives only here: per hidden-state series, each token's mean value at each layer times
    /// <c>scale</c>, and a line figure of it.
    /// </summary>
    private sealed class ProbeKind : MetricKind<ProbeSettings>
    {
        public override string Name => "probe";
        public override string Description => "probe means";
        public override string Example => "probe: { scale: 1 }";

        public override object? Read(YamlNodeReader reader, YamlNode value)
        {
            var f = reader.Fields(value, "'metrics.probe'", ["scale"]);
            var scale = f.TryGetValue("scale", out var s) ? reader.Int(s.Value, "scale") : 1;
            if (scale < 0) throw reader.Error(s!.Value, $"probe scale {scale} is out of range", "use a number ≥ 0");
            return new ProbeSettings(scale);
        }

        public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) => new ProbeUnit(ws, experiment, model, text);

        public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet)
        {
            var (_, blocks) = MetricsStage.Sync(() => VectorStoreReader.ReadAsync(parquet));
            return [.. blocks.Select(b =>
            {
                var spec = new LineChartSpec(b.Values, b.Positions, b.Dim, null, context.Title(b.Key.Stack, b.Key.Point, "mean"), "Layer", "mean");
                var record = FigureRecord.Of(b.Key with { Measure = null }, Name, "mean");
                var stem = record.KindStem();
                return new FigureJob(stem, () => LineFigure.Render(spec, context.Path(stem), context.Spec.Formats, context.Spec.Dpi, context.Thumbnails), Record: record);
            })];
        }

        public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) => new("probe means", $"{figure.Stack} · {figure.Point}");
    }

    private sealed record ProbeSettings(int Scale);

    private sealed class ProbeUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
        : MetricsUnitBase(ws, experiment, model, text, "probe")
    {
        public override UnitDeclaration Declare() =>
            new UnitDeclaration("probe-1").Reads(Upstream, ExtractStage.ActivationsFile).Param("metrics.probe", Experiment.Metrics.Get<ProbeSettings>("probe")).Writes(OutputPath);

        public override IReadOnlyList<string> Run(RunContext context)
        {
            var scale = Experiment.Metrics.Get<ProbeSettings>("probe")!.Scale;
            var fingerprint = Fingerprint().Value;
            MetricsStage.Sync(async () =>
            {
                var (metadata, blocks) = await VectorStoreReader.ReadAsync(Upstream.OutputPath);
                var points = StoredPoints.Read(metadata, Upstream.OutputPath);
                await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, MetricsStage.Metadata(metadata, "probe/1", fingerprint), withMeasure: true);
                foreach (var (series, stack, layers) in TrajectoryMetrics.Trajectories(blocks, points))
                {
                    var t = layers[0].Positions;
                    var values = new float[t * layers.Count];
                    for (var p = 0; p < t; p++)
                        for (var l = 0; l < layers.Count; l++)
                            values[p * layers.Count + l] = scale * layers[l].Row(p).ToArray().Average();
                    await writer.WriteAsync(new ActivationPoint(series, stack, -1, null, "mean"), values, t, layers.Count);
                }
                await writer.CommitAsync();
                return 0;
            });
            return [OutputPath];
        }
    }
}
