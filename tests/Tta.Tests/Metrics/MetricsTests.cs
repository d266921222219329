using System.Globalization;
using DuckDB.NET.Data;
using Tta.Bench;
using Tta.Config;
using Tta.Metrics;
using Tta.Models;
using Tta.Store;
using static TorchSharp.torch;
using Tta.Metrics.Attention;
using Tta.Metrics.Nearest;
using Tta.Metrics.Similarity;
using Tta.Metrics.Trajectory;

namespace Tta.Tests.Metrics;

/// <summary>
/// The metrics against straightforward loop computations, the T5 kernel against transformers' position bias, and the
/// Parquet files the pipeline writes read back by DuckDB (an independent reader) and written reproducibly.
/// </summary>
public class MetricsTests
{
    // Tolerances (relative and absolute) by what each computation promises: float32 sums about 1e-5; float64 results
    // stored as float32 their rounding (6e-8, so 1e-6 with margin); float64 sums of the same terms in another order 1e-12.
    private const double Float32Sum = 1e-5;
    private const double Float64AsFloat32 = 1e-6;
    private const double Float64Sum = 1e-12;

    // ---------------------------------------------------------------- trajectory

    private static VectorBlock Block(int layer, double[][] rows) =>
        new(new ActivationPoint($"hidden_states.{layer}", "encoder", layer), rows.Length, rows[0].Length,
            rows.SelectMany(r => r.Select(x => (float)x)).ToArray());

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();
    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));
    private static double[] Sub(double[] a, double[] b) => a.Zip(b, (x, y) => x - y).ToArray();
    private static double Cos(double[] a, double[] b) => Dot(a, b) / (Norm(a) * Norm(b));

    [Fact]
    public void TrajectoryMetricsMatchHandComputation()
    {
        // Two tokens through four layers, 3-d: token 0 walks an L-shaped path, token 1 goes straight then reverses.
        double[][][] h =
        [
            [[1, 0, 0], [0, 1, 0]],
            [[2, 0, 0], [0, 2, 0]],
            [[2, 3, 0], [0, 4, 0]],
            [[2, 3, 4], [0, 1, 0]],
        ];
        var layers = h.Select((rows, l) => Block(l, rows)).ToList();
        var m = TrajectoryMetrics.Compute(layers);
        Assert.Equal(3, m["step_length"].Length);
        Assert.Equal(3, m["cosine_next"].Length);
        Assert.Equal(4, m["cosine_final"].Length);
        Assert.Equal(2, m["curvature"].Length);
        for (var t = 0; t < 2; t++)
        {
            for (var i = 0; i < 3; i++)
            {
                Near.Equal(Norm(Sub(h[i + 1][t], h[i][t])), m["step_length"].Values[t * 3 + i], Float64AsFloat32, Float64AsFloat32);
                Near.Equal(Cos(h[i][t], h[i + 1][t]), m["cosine_next"].Values[t * 3 + i], Float64AsFloat32, Float64AsFloat32);
            }
            for (var i = 0; i < 4; i++) Near.Equal(Cos(h[i][t], h[3][t]), m["cosine_final"].Values[t * 4 + i], Float64AsFloat32, Float64AsFloat32);
            for (var i = 0; i < 2; i++)
            {
                var c = Cos(Sub(h[i + 1][t], h[i][t]), Sub(h[i + 2][t], h[i + 1][t]));
                Near.Equal(Math.Acos(Math.Clamp(c, -1, 1)), m["curvature"].Values[t * 2 + i], Float64AsFloat32, Float64AsFloat32);
            }
        }
        // Known values: token 0 turns by right angles; token 1 reverses after going straight.
        Near.Equal(Math.PI / 2, m["curvature"].Values[0], Float64AsFloat32, Float64AsFloat32);
        Near.Equal(Math.PI / 2, m["curvature"].Values[1], Float64AsFloat32, Float64AsFloat32);
        Near.Equal(0.0, m["curvature"].Values[2], Float64AsFloat32, Float64AsFloat32);
        Near.Equal(Math.PI, m["curvature"].Values[3], Float64AsFloat32, Float64AsFloat32);
        Near.Equal(4.0, m["step_length"].Values[2], Float64AsFloat32, Float64AsFloat32);
    }

    [Fact]
    public void TrajectoriesGroupHiddenStatesByStackInLayerOrder()
    {
        var blocks = new[]
        {
            new VectorBlock(new ActivationPoint("encoder_hidden_states.1", "encoder", 1), 1, 1, [1f]),
            new VectorBlock(new ActivationPoint("encoder_hidden_states.0", "encoder", 0), 1, 1, [1f]),
            new VectorBlock(new ActivationPoint("decoder_hidden_states.0", "decoder", 0), 1, 1, [1f]),
            new VectorBlock(new ActivationPoint("encoder.block.0.layer.0.SelfAttention.q", "encoder", 0), 1, 1, [1f]),
        };
        var (encoder, decoder) = (new OutputFields("encoder", "encoder_"), new OutputFields("decoder", "decoder_"));
        var points = StoredPoints.Read(new Dictionary<string, string>
        {
            [StoreKeys.Points] = StoredPoints.Serialize([encoder.HiddenState(1), encoder.HiddenState(0), decoder.HiddenState(0),
                new CaptureSite("encoder", 0, "encoder.block.0.layer.0.SelfAttention").Part("q", CaptureKind.Query)]),
        }, "test");
        var t = TrajectoryMetrics.Trajectories(blocks, points);
        Assert.Equal(["decoder_hidden_states", "encoder_hidden_states"], t.Select(x => x.Point));
        Assert.Equal([0, 1], t[1].Layers.Select(b => b.Key.Layer));
    }

    [Fact]
    public void SimilarityMapsMatchLoops()
    {
        var rng = new Random(3);
        const int rows = 9, dim = 5;
        var x = Enumerable.Range(0, rows * dim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        Array.Clear(x, 3 * dim, dim); // a zero vector: cosine 0 with everything
        var maps = SimilarityMap.ComputeAll(x, rows, dim, ["dot", "cosine"]);
        double[] Row(int i) => x.Skip(i * dim).Take(dim).Select(v => (double)v).ToArray();
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < rows; j++)
            {
                var dot = Dot(Row(i), Row(j));
                var cos = Norm(Row(i)) == 0 || Norm(Row(j)) == 0 ? 0 : Cos(Row(i), Row(j));
                Near.Equal(dot, maps[0][i * rows + j], Float32Sum, Float32Sum, $"dot [{i}, {j}]");
                Near.Equal(cos, maps[1][i * rows + j], 0, Float32Sum, $"cosine [{i}, {j}]");
            }
        Assert.Equal(maps[1], SimilarityMap.Compute(x, rows, dim, "cosine"));
    }

    // ---------------------------------------------------------------- nearest tokens

    [Theory]
    [InlineData("ip", 256, 16384)]
    [InlineData("l2", 256, 16384)]
    [InlineData("ip", 3, 7)]   // chunk merging across rows and vocabulary
    [InlineData("l2", 4, 5)]
    public void NearestTokensMatchBruteForce(string measure, int rowChunk, int vocabChunk)
    {
        var rng = new Random(7);
        const int vocab = 53, dim = 6, rows = 11, k = 4;
        var e = Enumerable.Range(0, vocab * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var x = Enumerable.Range(0, rows * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // Some query vectors are exactly embedding rows: their L2 nearest must be that row at distance 0.
        Array.Copy(e, 17 * dim, x, 2 * dim, dim);
        using var et = tensor(e, [vocab, dim]);
        var r = NearestTokens.Search(x, rows, dim, et, k, measure, rowChunk, vocabChunk);
        for (var i = 0; i < rows; i++)
        {
            var scored = Enumerable.Range(0, vocab).Select(v =>
            {
                double s = 0;
                for (var d = 0; d < dim; d++)
                {
                    var (a, b) = ((double)x[i * dim + d], (double)e[v * dim + d]);
                    s += measure == "ip" ? a * b : (a - b) * (a - b);
                }
                return (v, s);
            });
            var want = (measure == "ip" ? scored.OrderByDescending(p => p.s) : scored.OrderBy(p => p.s)).Take(k).ToList();
            for (var j = 0; j < k; j++)
            {
                Assert.Equal(want[j].v, r.Ids[i * k + j]);
                Near.Equal(want[j].s, r.Scores[i * k + j], Float64Sum, Float64Sum, $"row {i} rank {j}");
            }
        }
        if (measure == "l2")
        {
            Assert.Equal(17, r.Ids[2 * k]);
            Near.Equal(0.0, r.Scores[2 * k], 0, Float64Sum);
        }
    }

    // ---------------------------------------------------------------- attention

    private static string[] RowSoftmaxFailures(Tensor scores, Tensor probs)
    {
        var s = scores.contiguous().data<float>().ToArray();
        var p = probs.contiguous().data<float>().ToArray();
        var n = (int)scores.shape[^1];
        var bad = new List<string>();
        for (var r = 0; r < s.Length / n; r++)
        {
            var max = Enumerable.Range(0, n).Max(j => (double)s[r * n + j]);
            var z = Enumerable.Range(0, n).Sum(j => Math.Exp(s[r * n + j] - max));
            var sum = 0.0;
            for (var j = 0; j < n; j++)
            {
                sum += p[r * n + j];
                var want = Math.Exp(s[r * n + j] - max) / z;
                if (Math.Abs(want - p[r * n + j]) > 1e-5) bad.Add($"row {r} col {j}: {p[r * n + j]} vs {want}");
            }
            if (Math.Abs(sum - 1) > 1e-5) bad.Add($"row {r} sums to {sum}");
        }
        return [.. bad];
    }

    /// <summary>scale · Σ_d q[i, h·d + d'] k[j, g·d + d'] by plain loops.</summary>
    private static double[,] LoopQk(Tensor q, Tensor k, int head, int keyHead, int d, double scale)
    {
        var (tq, tk) = ((int)q.shape[0], (int)k.shape[0]);
        var (qa, ka) = (q.contiguous().data<float>().ToArray(), k.contiguous().data<float>().ToArray());
        var (qw, kw) = ((int)q.shape[1], (int)k.shape[1]);
        var r = new double[tq, tk];
        for (var i = 0; i < tq; i++)
            for (var j = 0; j < tk; j++)
            {
                double s = 0;
                for (var c = 0; c < d; c++) s += (double)qa[i * qw + head * d + c] * ka[j * kw + keyHead * d + c];
                r[i, j] = s * scale;
            }
        return r;
    }

    private static void AssertClose(double[,] want, Tensor got, double tol, string what)
    {
        var g = got.contiguous().data<float>().ToArray();
        var cols = want.GetLength(1);
        var worst = 0.0;
        for (var i = 0; i < want.GetLength(0); i++)
            for (var j = 0; j < cols; j++) worst = Math.Max(worst, Math.Abs(want[i, j] - g[i * cols + j]));
        Assert.True(worst <= tol, $"{what}: max abs error {worst:g3}");
    }

    [Fact]
    public void T5AttentionDecomposesIntoQkPlusBiasWithKernelFromTransformersBias()
    {
        var dir = FixtureCheck.ModelDir("flan-t5-tiny");
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        using var expected = FixtureCheck.Expected(dir);
        var inputs = ForwardRunner.ReadInputs(Path.Combine(dir, "case.json"));
        using var capture = new ActivationCapture(AttentionCaptures.Filter(model.Architecture, [0]));
        using (no_grad()) model.Run(inputs, capture);
        var parts = AttentionDecomposition.Decompose(capture, model.Architecture, model.Config);
        Assert.Equal(["encoder.block.0.layer.0.SelfAttention", "decoder.block.0.layer.0.SelfAttention", "decoder.block.0.layer.1.EncDecAttention"],
            parts.Select(p => p.Path));
        var heads = model.Config.Int("num_heads");
        var dkv = model.Config.Int("d_kv");
        foreach (var p in parts)
        {
            Assert.Equal(0, p.Layer);
            Assert.Equal(p.Path.StartsWith("decoder", StringComparison.Ordinal) && p.Path.Contains("SelfAttention"), p.Causal);
            var q = capture[p.Path + ".q"][0];
            var k = capture[p.Path + ".k"][0];
            Assert.Empty(RowSoftmaxFailures(p.Scores, p.Probs));
            for (var h = 0; h < heads; h++)
            {
                var want = LoopQk(q, k, h, h, dkv, 1.0); // T5: no 1/√d
                AssertClose(want, p.Qk!(h), 1e-4, $"{p.Path} qk head {h}");
                // Batch element 0 has no padding: scores = qk + bias (+ causal mask in the decoder).
                var bias = p.PositionBias![h].data<float>().ToArray();
                var tk = (int)p.Scores.shape[2];
                for (var i = 0; i < want.GetLength(0); i++)
                    for (var j = 0; j < tk; j++)
                        if (!p.Causal || j <= i) want[i, j] += bias[i * tk + j];
                        else want[i, j] = p.Scores[h, i, j].item<float>(); // masked: a huge negative number
                AssertClose(want, p.Scores[h], 1e-4, $"{p.Path} scores head {h}");
            }
        }
        // The kernel: row T/2 (encoder) or T−10 clamped (decoder) of transformers' position bias (module output #1).
        foreach (var p in parts.Where(p => p.Path.Contains("SelfAttention")))
        {
            using var fixture = expected.Load($"module:{p.Path}#1");
            var t = (int)p.Scores.shape[1];
            var row = AttentionDecomposition.KernelRow(t, p.Causal);
            Assert.Equal(p.Causal ? Math.Max(0, t - 10) : t / 2, row);
            var kernel = AttentionDecomposition.Kernel(p.PositionBias!, row);
            Assert.Equal([heads, t], kernel.shape);
            var want = fixture[0, .., row, ..].contiguous().data<float>().ToArray();
            var got = kernel.data<float>().ToArray();
            Assert.Equal(want.Length, got.Length);
            for (var i = 0; i < want.Length; i++) Near.Equal(want[i], got[i], Float32Sum, Float32Sum, $"{p.Path} kernel {i}");
            // A bias is a kernel: it depends on the key position only through j − i (within the bucket range).
            var bias = p.PositionBias!;
            Assert.Equal(bias[.., 1, 2].data<float>().ToArray(), bias[.., 2, 3].data<float>().ToArray());
        }
    }

    [Fact]
    public void KernelRowIsTheMiddleForEncodersAndTMinus10ForDecoders()
    {
        Assert.Equal(1024, AttentionDecomposition.KernelRow(2048, causal: false));
        Assert.Equal(2038, AttentionDecomposition.KernelRow(2048, causal: true));
        Assert.Equal(0, AttentionDecomposition.KernelRow(7, causal: true));
        Assert.Equal(3, AttentionDecomposition.KernelRow(7, causal: false));
    }

    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny")]
    public void OtherModelsQkIsTheScoreWhereAttentionIsAllowed(string name)
    {
        var dir = FixtureCheck.ModelDir(name);
        using var model = ModelFactory.Load(dir, ScalarType.Float32);
        var ids = new long[] { 5, 9, 14, 3, 27, 8 };
        using var capture = new ActivationCapture(AttentionCaptures.Filter(model.Architecture, [0, 1]));
        var parts = AttentionDecomposition.Run(model, ids, capture);
        Assert.Equal([0, 1], parts.Select(p => p.Layer));
        foreach (var p in parts)
        {
            Assert.Null(p.PositionBias);
            Assert.Empty(RowSoftmaxFailures(p.Scores, p.Probs));
            for (var h = 0; h < p.Heads; h++)
            {
                var qk = p.Qk!(h).data<float>().ToArray();
                var scores = p.Scores[h].contiguous().data<float>().ToArray();
                var t = ids.Length;
                for (var i = 0; i < t; i++)
                    for (var j = 0; j <= (p.Causal ? i : t - 1); j++)
                        Assert.True(Math.Abs(qk[i * t + j] - scores[i * t + j]) < 1e-4, $"{p.Path} h{h} [{i},{j}]: {qk[i * t + j]} vs {scores[i * t + j]}");
            }
        }
        if (name == "bert-tiny")
        {
            // And against loops over the captured projections, with BERT's 1/√d_head.
            var p = parts[0];
            var q = capture[p.Path + ".query"][0];
            var heads = (int)p.Heads;
            var d = (int)q.shape[1] / heads;
            AssertClose(LoopQk(q, capture[p.Path + ".key"][0], 1, 1, d, 1 / Math.Sqrt(d)), p.Qk!(1), 1e-5, "bert qk head 1");
        }
    }

    /// <summary>
    /// The attention metric decomposes the captures Extract stored (attention-inputs.parquet) without loading the model
    /// (its weights are gone by then), and attention.parquet holds exactly what decomposing a fresh run of the model
    /// gives: flan-t5-tiny (position bias, kernel, encoder, decoder and cross-attention) and gpt2-tiny (causal, fused
    /// projection), every head of blocks 0 and 1.
    /// </summary>
    [Theory]
    [InlineData("flan-t5-tiny")]
    [InlineData("gpt2-tiny")]
    public async Task AttentionMetricUsesTheExtractCapturesAndMatchesARunOfTheModel(string fixture)
    {
        var ws = new TinyWorkspace();
        var model = Path.Combine(ws.Root, "experiments", "m");
        Directory.CreateDirectory(model);
        foreach (var f in new[] { "config.json", "model.safetensors" })
            File.Copy(Path.Combine(FixtureCheck.ModelDir(fixture), f), Path.Combine(model, f));
        var t5 = fixture.Contains("t5", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(model, "tokenizer.json"),
            SyntheticTokenizer.Create(t5 ? SyntheticTokenizerKind.Unigram : SyntheticTokenizerKind.ByteLevelBpe, t5 ? 320 : 300).ToJsonString());
        ws.WriteExperiment($$"""
            name: tiny
            models:
              - { id: {{fixture}}, source: local, path: m, name: m }
            texts:
              - { name: one, text: "Bo sat." }
            metrics:
              attention: { layers: [0, 1] }
            """);
        foreach (var stage in new[] { "Download", "Extract" }) Assert.Equal(0, ws.Cli("run", $"--stage={stage}").Code);
        var unit = Path.Combine(ws.CacheDir, "extract", "tiny", "m", "one");
        Assert.True(File.Exists(Path.Combine(unit, "attention-inputs.parquet")));
        var weights = File.ReadAllBytes(Path.Combine(model, "model.safetensors"));
        File.WriteAllBytes(Path.Combine(model, "model.safetensors"), []); // no model from here on
        var (code, log) = ws.Cli("run", "--stage=Metrics");
        Assert.True(code == 0, log);
        Assert.DoesNotContain("needs about", log); // no model was planned for, let alone loaded
        File.WriteAllBytes(Path.Combine(model, "model.safetensors"), weights);

        var (metadata, blocks) = await VectorStoreReader.ReadAsync(Path.Combine(ws.CacheDir, "metrics", "tiny", "m", "one", "attention.parquet"));
        Assert.Equal("attention/1", metadata["tta.format"]);
        Assert.DoesNotContain("tta.config", metadata.Keys);
        var ids = System.Text.Json.JsonSerializer.Deserialize<long[]>(metadata["tta.token_ids"])!;
        using var net = ModelFactory.Load(model, ScalarType.Float32);
        using var capture = new ActivationCapture(AttentionCaptures.Filter(net.Architecture, [0, 1]));
        var parts = AttentionDecomposition.Run(net, ids, capture);
        var compared = 0;
        foreach (var p in parts)
            for (var h = 0; h < p.Heads; h++)
            {
                float[] Stored(string measure) => blocks.Single(b => b.Key.Point == p.Path && b.Key.Head == h && b.Key.Measure == measure).Values;
                Assert.Equal(p.Scores[h].contiguous().data<float>().ToArray(), Stored("scores"));
                Assert.Equal(p.Probs[h].contiguous().data<float>().ToArray(), Stored("probs"));
                using var qk = p.Qk!(h);
                Assert.Equal(qk.data<float>().ToArray(), Stored("qk"));
                if (p.PositionBias is { } bias)
                {
                    Assert.Equal(bias[h].contiguous().data<float>().ToArray(), Stored("position_bias"));
                    Assert.Equal(bias[h, AttentionDecomposition.KernelRow((int)p.Scores.shape[1], p.Causal)].contiguous().data<float>().ToArray(), Stored("kernel"));
                }
                compared++;
            }
        Assert.Equal(blocks.Select(b => (b.Key.Point, b.Key.Head)).Distinct().Count(), compared);
        Assert.Equal(t5 ? 6 : 2, parts.Count); // T5: encoder self, decoder self and cross in blocks 0 and 1
    }

    // ---------------------------------------------------------------- config

    private static Experiment LoadYaml(string metrics)
    {
        var dir = Repo.TempDir();
        var path = Path.Combine(dir, "exp.yaml");
        File.WriteAllText(path, "name: x\nmodels:\n  - id: org/model\n    source: hub\ntexts:\n  - name: one\n    text: Some words.\n" + metrics);
        return ExperimentLoader.Load(path, MetricKinds.Default.Settings);
    }

    [Fact]
    public void LoaderReadsMetricsFields()
    {
        var e = LoadYaml("metrics:\n  attention: { layers: [0, 2], heads: [0, 2] }\n  nearest: { k: 7 }\n  trajectory: true\n");
        Assert.Equal([0, 2], e.Metrics.Get<AttentionMetricSpec>("attention")!.Layers);
        Assert.Equal([0, 2], e.Metrics.Get<AttentionMetricSpec>("attention")!.Heads!);
        Assert.Equal(7, e.Metrics.Get<NearestMetricSpec>("nearest")!.K);
        Assert.True(e.Metrics.Has("trajectory"));
        Assert.Equal(["cosine", "dot"], e.Metrics.Get<IReadOnlyList<string>>("similarity"));

        var d = LoadYaml("metrics:\n  attention:\n    layers: [1]\n  nearest: {}\n");
        Assert.Null(d.Metrics.Get<AttentionMetricSpec>("attention")!.Heads);
        Assert.Equal(Tta.Metrics.Nearest.NearestKind.DefaultK, d.Metrics.Get<NearestMetricSpec>("nearest")!.K);
        Assert.False(d.Metrics.Has("trajectory"));

        var none = LoadYaml("");
        Assert.Null(none.Metrics.Get<AttentionMetricSpec>("attention"));
        Assert.Null(none.Metrics.Get<NearestMetricSpec>("nearest"));
        Assert.False(none.Metrics.Has("trajectory"));
    }

    [Theory]
    [InlineData("metrics:\n  attention: { heads: [0] }\n", "exp.yaml:9:14", "layers")]
    [InlineData("metrics:\n  attention: { layers: [0, -1] }\n", "exp.yaml:9:28", "negative")]
    [InlineData("metrics:\n  attention: { layers: [1, 1] }\n", "exp.yaml:9:28", "twice")]
    [InlineData("metrics:\n  attention: { layers: [0], head: [1] }\n", "exp.yaml:9:29", "heads")]
    [InlineData("metrics:\n  nearest: { k: 0 }\n", "exp.yaml:9:17", "1..1000")]
    [InlineData("metrics:\n  nearest: 5\n", "exp.yaml:9:12", "nearest")]
    [InlineData("metrics:\n  trajectory: yes please\n", "exp.yaml:9:15", "true or false")]
    [InlineData("metrics:\n  trajectories: true\n", "exp.yaml:9:3", "trajectory")]
    public void LoaderRejectsBadMetricsFields(string metrics, string at, string word)
    {
        var ex = Assert.Throws<ConfigException>(() => LoadYaml(metrics));
        Assert.Contains(at, ex.Message);
        Assert.Contains(word, ex.Message);
    }

    // ---------------------------------------------------------------- pipeline files, DuckDB, reproducibility

    private const string MetricsYaml = "metrics:\n  attention: { layers: [0, 1], heads: [1] }\n  nearest: { k: 3 }\n  trajectory: true\n";

    private static string WithMetrics(string metrics) => TinyWorkspace.DefaultYaml.Replace("figures:", metrics + "figures:");

    private static void RunAll(TinyWorkspace ws)
    {
        foreach (var stage in new[] { "Download", "Extract", "Metrics" })
        {
            var (code, output) = ws.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
    }

    internal static List<object?[]> Query(string sql)
    {
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (var i = 0; i < r.FieldCount; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    private static string Sql(string path) => "'" + path.Replace("'", "''") + "'";

    [Fact]
    [Trait("Lane", "Full")]
    public async Task DuckDbReadsEveryPipelineFileAndRunsAreByteIdentical()
    {
        var ws = new TinyWorkspace(WithMetrics(MetricsYaml));
        RunAll(ws);
        var files = Directory.GetFiles(ws.CacheDir, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        // per text: activations and attention inputs (Extract), similarity, attention, nearest, trajectory
        Assert.Equal(2 * 6, files.Count);
        foreach (var f in files.Where(f => !f.EndsWith("nearest.parquet", StringComparison.Ordinal)))
        {
            var (_, blocks) = await VectorStoreReader.ReadAsync(f);
            Assert.NotEmpty(blocks);
            var measure = f.Contains($"{Path.DirectorySeparatorChar}extract{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "''" : "measure";
            var counts = Query($"SELECT point, {measure}, coalesce(head, -1), count(*), min(len(\"values\")), max(len(\"values\")) FROM read_parquet({Sql(f)}) GROUP BY ALL");
            Assert.Equal(blocks.Count, counts.Count);
            foreach (var b in blocks)
            {
                var row = Assert.Single(counts, c => (string)c[0]! == b.Key.Point && (string)c[1]! == (b.Key.Measure ?? "")
                    && Convert.ToInt32(c[2], CultureInfo.InvariantCulture) == (b.Key.Head ?? -1));
                Assert.Equal(b.Positions, Convert.ToInt64(row[3], CultureInfo.InvariantCulture));
                Assert.Equal(b.Dim, Convert.ToInt64(row[4], CultureInfo.InvariantCulture));
                Assert.Equal(b.Dim, Convert.ToInt64(row[5], CultureInfo.InvariantCulture));
                // The list values equal what was written, element by element (last row of the block).
                var p = b.Positions - 1;
                var where = $"point = '{b.Key.Point}' AND position = {p} AND coalesce(head, -1) = {b.Key.Head ?? -1}"
                            + (b.Key.Measure is { } m ? $" AND measure = '{m}'" : "");
                var values = Assert.Single(Query($"SELECT \"values\" FROM read_parquet({Sql(f)}) WHERE {where}"))[0];
                var list = ((System.Collections.IEnumerable)values!).Cast<object>().Select(v => Convert.ToSingle(v, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(b.Row(p).ToArray(), list);
            }
        }

        // attention: heads [1] of blocks 0 and 1, BERT: qk, scores, probs; probs rows sum to 1.
        var attention = files.First(f => f.EndsWith("attention.parquet", StringComparison.Ordinal));
        var kinds = Query($"SELECT DISTINCT layer, head, measure FROM read_parquet({Sql(attention)}) ORDER BY ALL");
        Assert.Equal(["0/1/probs", "0/1/qk", "0/1/scores", "1/1/probs", "1/1/qk", "1/1/scores"],
            kinds.Select(k => $"{k[0]}/{k[1]}/{k[2]}"));
        var sums = Query($"SELECT max(abs(list_sum(\"values\") - 1)) FROM read_parquet({Sql(attention)}) WHERE measure = 'probs'");
        Assert.True(Convert.ToDouble(sums[0][0], CultureInfo.InvariantCulture) < 1e-5);

        // nearest: k rows per (hidden state, measure, position), ranks 0..k-1, scores ordered, ids → vocabulary strings.
        var nearest = files.First(f => f.EndsWith("nearest.parquet", StringComparison.Ordinal));
        var activations = files.First(f => f.EndsWith(Path.Combine("extract", "tiny", "tiny", "one", "activations.parquet"), StringComparison.Ordinal));
        var (_, act) = await VectorStoreReader.ReadAsync(activations);
        var perPoint = Query($"SELECT point, measure, count(*), count(DISTINCT position), max(rank), count(token) FROM read_parquet({Sql(nearest)}) GROUP BY ALL ORDER BY ALL");
        Assert.Equal(act.Count * 2, perPoint.Count);
        foreach (var row in perPoint)
        {
            var t = act.First(b => b.Key.Point == (string)row[0]!).Positions;
            Assert.Equal(3L * t, Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
            Assert.Equal((long)t, Convert.ToInt64(row[3], CultureInfo.InvariantCulture));
            Assert.Equal(2, Convert.ToInt32(row[4], CultureInfo.InvariantCulture));
            Assert.Equal(3L * t, Convert.ToInt64(row[5], CultureInfo.InvariantCulture)); // every id has a string
        }
        // Brute force for the last layer's first token against the checkpoint's embedding matrix.
        using var checkpoint = new Checkpoint(Path.Combine(ws.Root, "experiments", "model"));
        using var emb = NearestTokens.LoadEmbeddings(checkpoint);
        var vocab = File.ReadAllLines(Path.Combine(ws.Root, "experiments", "model", "vocab.txt"));
        var last = act.Where(b => b.Key.Point.StartsWith("hidden_states.", StringComparison.Ordinal)).MaxBy(b => b.Key.Layer)!;
        var e = emb.data<float>().ToArray();
        var dim = last.Dim;
        var best = Enumerable.Range(0, (int)emb.shape[0])
            .Select(v => (v, s: Enumerable.Range(0, dim).Sum(d => (double)last.Values[d] * e[v * dim + d])))
            .OrderByDescending(p => p.s).Take(3).ToList();
        var got = Query($"SELECT token_id, token, score FROM read_parquet({Sql(nearest)}) WHERE point = '{last.Key.Point}' AND measure = 'ip' AND position = 0 ORDER BY rank");
        Assert.Equal(best.Select(b => (long)b.v), got.Select(g => Convert.ToInt64(g[0], CultureInfo.InvariantCulture)));
        Assert.Equal(best.Select(b => vocab[b.v]), got.Select(g => (string)g[1]!));
        for (var i = 0; i < 3; i++) Near.Equal(best[i].s, Convert.ToDouble(got[i][2], CultureInfo.InvariantCulture), Float64Sum, Float64Sum, $"rank {i}");

        // trajectory: the four measures for hidden_states over layers 0..2.
        var trajectory = files.First(f => f.EndsWith("trajectory.parquet", StringComparison.Ordinal));
        var lens = Query($"SELECT measure, max(len(\"values\")) FROM read_parquet({Sql(trajectory)}) GROUP BY ALL ORDER BY ALL");
        Assert.Equal(["cosine_final/3", "cosine_next/2", "curvature/1", "step_length/2"], lens.Select(l => $"{l[0]}/{l[1]}"));

        // A second run on the same inputs writes the same bytes.
        var again = new TinyWorkspace(WithMetrics(MetricsYaml));
        RunAll(again);
        foreach (var f in files)
        {
            var other = Path.Combine(again.CacheDir, Path.GetRelativePath(ws.CacheDir, f));
            Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(File.ReadAllBytes(other)), $"{Path.GetRelativePath(ws.CacheDir, f)} differs between runs");
        }
    }

    [Fact]
    public void ChangingOneMetricsFieldRerunsOnlyThatKind()
    {
        var ws = new TinyWorkspace(WithMetrics(MetricsYaml));
        RunAll(ws);
        Assert.Equal(0, ws.Cli("status", "--stage=Metrics").Code);
        ws.WriteExperiment(WithMetrics(MetricsYaml.Replace("k: 3", "k: 4")));
        var (code, output) = ws.Cli("status", "--stage=Metrics", "--explain");
        Assert.Equal(3, code);
        Assert.Contains("tiny/tiny/one/nearest: stale", output);
        Assert.Contains("param:metrics.nearest.k changed", output);
        foreach (var up in new[] { "tiny/tiny/one:", "tiny/tiny/one/attention:", "tiny/tiny/one/trajectory:" })
            Assert.Contains(up + " up to date", output);

        ws.WriteExperiment(WithMetrics(MetricsYaml.Replace("heads: [1]", "heads: [0, 1]")));
        (code, output) = ws.Cli("status", "--stage=Metrics", "--explain");
        Assert.Contains("tiny/tiny/two/attention: stale", output);
        Assert.Contains("tiny/tiny/two: up to date", output);
    }

    // ---------------------------------------------------------------- benchmark (smoke only; not timed)

    /// <summary>
    /// Runs <see cref="StoreBenchmark"/> on tiny sizes to show it works; with TTA_BENCH_OUT=FILE set it runs at the
    /// default sizes (TTA_BENCH_SIZES=points,positions,dim to change them) and writes its report to FILE.
    /// </summary>
    [Fact]
    public void StoreBenchmarkRuns()
    {
        var log = new StringWriter();
        var outFile = Environment.GetEnvironmentVariable("TTA_BENCH_OUT");
        if (string.IsNullOrEmpty(outFile)) StoreBenchmark.Run(log, Repo.TempDir(), points: 2, positions: 16, dim: 8);
        else
        {
            var sizes = (Environment.GetEnvironmentVariable("TTA_BENCH_SIZES") ?? "33,512,4544").Split(',').Select(int.Parse).ToArray();
            StoreBenchmark.Run(log, Repo.TempDir(), sizes[0], sizes[1], sizes[2]);
            File.WriteAllText(outFile, log.ToString());
        }
        var text = log.ToString();
        Assert.Contains("store/plain", text);
        Assert.Contains("read: store", text);
        Assert.Contains("similarity maps", text);
    }
}
