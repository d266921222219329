using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using Tta.Config;
using Tta.Metrics;
using Tta.Metrics.Projection;
using Tta.Store;

namespace Tta.Tests.Metrics;

/// <summary>
/// The trajectory projection (metrics.projection) against an independent PCA (power iteration on the covariance, in
/// plain doubles), on synthetic blocks and end to end on the pipeline's files read back by DuckDB.
/// </summary>
public class ProjectionTests
{
    /// <summary>Mean and the two leading principal directions of the rows, by power iteration with deflation.</summary>
    private static (double[] Mean, double[][] Components) ReferencePca(List<double[]> rows)
    {
        var d = rows[0].Length;
        var mean = Enumerable.Range(0, d).Select(k => rows.Average(r => r[k])).ToArray();
        var cov = new double[d, d];
        foreach (var r in rows)
            for (var a = 0; a < d; a++)
                for (var b = 0; b < d; b++)
                    cov[a, b] += (r[a] - mean[a]) * (r[b] - mean[b]) / rows.Count;
        var components = new double[2][];
        for (var c = 0; c < 2; c++)
        {
            var v = Enumerable.Range(0, d).Select(k => 1.0 + k * 0.1).ToArray();
            for (var it = 0; it < 5000; it++)
            {
                var w = new double[d];
                for (var a = 0; a < d; a++)
                    for (var b = 0; b < d; b++)
                        w[a] += cov[a, b] * v[b];
                var norm = Math.Sqrt(w.Sum(x => x * x));
                v = [.. w.Select(x => x / norm)];
            }
            var lambda = Enumerable.Range(0, d).Sum(a => v[a] * Enumerable.Range(0, d).Sum(b => cov[a, b] * v[b]));
            for (var a = 0; a < d; a++)
                for (var b = 0; b < d; b++)
                    cov[a, b] -= lambda * v[a] * v[b];
            components[c] = v;
        }
        return (mean, components);
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    [Fact]
    public void ProjectionMatchesAnIndependentPcaOverAllLayers()
    {
        // Three layers of six tokens in 5-d, drifting apart along two directions of different strength.
        var rng = new Random(7);
        var blocks = new List<VectorBlock>();
        var rows = new List<double[]>();
        for (var layer = 0; layer < 3; layer++)
        {
            var values = new float[6 * 5];
            for (var t = 0; t < 6; t++)
                for (var k = 0; k < 5; k++)
                {
                    var v = (k == 1 ? 4.0 * t * (layer + 1) : 0) + (k == 3 ? 2.0 * layer - t : 0) + rng.NextDouble() * 0.3;
                    values[t * 5 + k] = (float)v;
                }
            blocks.Add(new VectorBlock(new ActivationPoint($"encoder_hidden_states.{layer}", "encoder", layer), 6, 5, values));
            rows.AddRange(Enumerable.Range(0, 6).Select(t => values.Skip(t * 5).Take(5).Select(x => (double)x).ToArray()));
        }
        // A module capture point and a per-head block are no trajectory vectors.
        blocks.Add(new VectorBlock(new ActivationPoint("encoder.layer.0.attention.self.query", "encoder", 0), 6, 5, new float[30]));

        var encoder = new Tta.Models.OutputFields("encoder", "encoder_");
        var points = StoredPoints.Of([.. Enumerable.Range(0, 3).Select(encoder.HiddenState),
            new Tta.Models.CaptureSite("encoder", 0, "encoder.layer.0.attention.self").Part("query", Tta.Models.CaptureKind.Query)]);
        var fit = Assert.Single(TrajectoryProjection.Fit(blocks, points));
        Assert.Equal(("encoder_hidden_states", "encoder", 18, 5), (fit.Series, fit.Stack, fit.Rows, fit.Dim));
        var (mean, reference) = ReferencePca(rows);
        for (var k = 0; k < 5; k++) Near.Equal(mean[k], fit.Mean[k], rel: 1e-12, abs: 1e-12, $"mean {k}"); // float64 sums
        for (var c = 0; c < 2; c++)
        {
            var mine = fit.Components.Skip(c * 5).Take(5).ToArray();
            // Same direction up to sign, and the sign rule: the largest-magnitude entry is positive.
            Near.Equal(1.0, Math.Abs(Dot(mine, reference[c])), rel: 0, abs: 1e-9, $"component {c}"); // float64 eigenvectors
            Assert.True(mine.MaxBy(Math.Abs) > 0);
        }
        Assert.True(fit.ExplainedVarianceRatio[0] > fit.ExplainedVarianceRatio[1] && fit.ExplainedVarianceRatio.Sum() <= 1 + 1e-9);
        var projected = fit.Project(blocks[2].Values, 6);
        for (var t = 0; t < 6; t++)
            for (var c = 0; c < 2; c++)
            {
                var centred = rows[12 + t].Select((x, k) => x - mean[k]).ToArray();
                var sign = Math.Sign(Dot(fit.Components.Skip(c * 5).Take(5).ToArray(), reference[c]));
                Near.Equal(sign * Dot(centred, reference[c]), projected[t * 2 + c], rel: 1e-6, abs: 1e-6, $"token {t} coordinate {c}"); // float64 rounded to float32
            }
    }

    [Fact]
    [Trait("Lane", "Full")]
    public async Task ProjectionFileOfThePipelineIsThePcaOfTheActivationsAndGetsItsFigure()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("figures:", "metrics:\n  projection: true\nfigures:"));
        foreach (var stage in new[] { "Download", "Extract", "Metrics", "Figures" })
        {
            var (code, output) = ws.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
        var dir = Path.Combine(ws.CacheDir, "metrics", "tiny", "tiny", "one");
        var projection = Path.Combine(dir, "projection.parquet");
        var activations = Path.Combine(ws.CacheDir, "extract", "tiny", "tiny", "one", "activations.parquet");

        // Read both files with DuckDB, an independent Parquet reader.
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        List<(string Point, int Layer, int Position, string Measure, double[] Values)> Rows(string file, bool measure)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT point, layer, position, {(measure ? "measure" : "''")}, \"values\" FROM read_parquet('{file}') ORDER BY layer, position";
            using var r = cmd.ExecuteReader();
            var rows = new List<(string, int, int, string, double[])>();
            while (r.Read())
                rows.Add((r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetString(3),
                    ((System.Collections.IEnumerable)r.GetValue(4)).Cast<object>().Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray()));
            return rows;
        }
        var stored = Rows(activations, measure: false).Where(r => r.Point.StartsWith("hidden_states.", StringComparison.Ordinal)).ToList();
        var projected = Rows(projection, measure: true);
        Assert.Equal(stored.Count, projected.Count);
        Assert.All(projected, p => Assert.Equal(("pca", 2), (p.Measure, p.Values.Length)));
        Assert.Equal(stored.Select(s => (s.Point, s.Layer, s.Position)), projected.Select(p => (p.Point, p.Layer, p.Position)));

        var (mean, components) = ReferencePca([.. stored.Select(s => s.Values)]);
        for (var c = 0; c < 2; c++)
        {
            var sign = Math.Sign(Dot(stored[0].Values.Select((x, k) => x - mean[k]).ToArray(), components[c]) * projected[0].Values[c]);
            foreach (var (s, p) in stored.Zip(projected))
                Near.Equal(sign * Dot(s.Values.Select((x, k) => x - mean[k]).ToArray(), components[c]), p.Values[c], rel: 1e-5, abs: 1e-5,
                    $"{p.Point} position {p.Position} coordinate {c}"); // float32 store, float64 fit
        }

        // Metadata: the format and, per series, the layers, the number of rows and the explained variance.
        var metadata = await VectorStoreReader.ReadMetadataAsync(projection);
        Assert.Equal(TrajectoryProjectionUnit.Format, metadata["tta.format"]);
        var info = JsonSerializer.Deserialize<Dictionary<string, TrajectoryProjectionUnit.ProjectionInfo>>(metadata["tta.projection"])!;
        var series = Assert.Single(info);
        Assert.Equal("hidden_states", series.Key);
        Assert.Equal([0, 1, 2], series.Value.Layers);
        Assert.Equal(stored.Count, series.Value.Rows);
        Assert.InRange(series.Value.ExplainedVarianceRatio.Sum(), 0.01, 1.0 + 1e-9);
        Assert.Contains("\"explained_variance_ratio\"", metadata["tta.projection"]);

        // The static figure kind, in every format asked for.
        foreach (var format in new[] { "png", "pdf" })
            Assert.True(File.Exists(Path.Combine(ws.FiguresDir, "tiny", "tiny", "one", $"encoder-hidden_states-projection-pca.{format}")));
    }

    [Fact]
    public void ProjectionFigureKindNeedsTheMetric()
    {
        var ws = new TinyWorkspace(TinyWorkspace.DefaultYaml.Replace("  cell_pixels: 8", "  cell_pixels: 8\n  kinds: [projection]"));
        var e = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(ws.ExperimentPath, MetricKinds.Default.Settings));
        Assert.Contains("figure kind 'projection' needs metrics.projection", e.Message);
        Assert.Contains("projection: true", e.Message);
    }
}
