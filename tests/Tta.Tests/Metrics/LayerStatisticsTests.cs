using DuckDB.NET.Data;
using Tta.Metrics.Statistics;
using Tta.Store;

namespace Tta.Tests.Metrics;

/// <summary>
/// The streaming layer statistics against independent computations: DuckDB SQL over the token vectors written as
/// activations Parquet files (anisotropy by a self-join over pairs of tokens of different texts, intra-text similarity,
/// mean norm), direct pairwise loops (self-similarity) and the covariance spectrum from a Jacobi eigendecomposition
/// (effective dimensionality).
/// </summary>
public sealed class LayerStatisticsTests
{
    private const int Dim = 8;

    /// <summary>Four texts of 3–7 tokens; a large offset on some columns (as transformers' outlier dimensions); one zero vector.</summary>
    private static List<float[,]> Corpus()
    {
        var random = new Random(2019);
        var texts = new List<float[,]>();
        foreach (var length in new[] { 5, 3, 7, 4 })
        {
            var t = new float[length, Dim];
            for (var i = 0; i < length; i++)
                for (var j = 0; j < Dim; j++) t[i, j] = (float)(random.NextDouble() * 2 - 1 + (j == 2 ? 40 : 0) + (j == 5 ? -3 * random.NextDouble() : 0));
            texts.Add(t);
        }
        for (var j = 0; j < Dim; j++) texts[2][4, j] = 0;
        return texts;
    }

    private static float[] Flat(float[,] m) => [.. m.Cast<float>()];

    private static LayerStatisticsAccumulator Accumulate(List<float[,]> corpus, int bufferRows, int typeCount = 0)
    {
        var accumulator = new LayerStatisticsAccumulator(Dim, typeCount, bufferRows);
        foreach (var t in corpus) accumulator.AddText(Flat(t), t.GetLength(0), Dim);
        return accumulator;
    }

    private static double Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToDouble(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task AnisotropyIntraTextSimilarityAndMeanNormEqualDuckDbOverTheActivationsParquet()
    {
        var corpus = Corpus();
        var dir = Repo.TempDir();
        var files = new List<string>();
        for (var t = 0; t < corpus.Count; t++)
        {
            var path = Path.Combine(dir, $"text{t}.parquet");
            await using (var writer = await VectorStoreWriter.CreateAsync(path, new Dictionary<string, string>()))
            {
                await writer.WriteAsync(new ActivationPoint("hidden_states.3", "encoder", 3), Flat(corpus[t]), corpus[t].GetLength(0), Dim);
                await writer.CommitAsync();
            }
            files.Add(path);
        }

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        var list = string.Join(", ", files.Select(f => "'" + f.Replace("'", "''") + "'"));
        using (var create = db.CreateCommand())
        {
            create.CommandText = $"""
                CREATE TABLE tokens AS
                SELECT filename AS text, position, "values"::DOUBLE[] AS v, sqrt(list_dot_product("values"::DOUBLE[], "values"::DOUBLE[])) AS norm
                FROM read_parquet([{list}], filename = true) WHERE point = 'hidden_states.3'
                """;
            create.ExecuteNonQuery();
        }
        Assert.Equal(19, Scalar(db, "SELECT count(*) FROM tokens"));
        const string cosines = "(SELECT * FROM tokens WHERE norm > 0)";
        var anisotropy = Scalar(db, $"SELECT avg(list_cosine_similarity(a.v, b.v)) FROM {cosines} a JOIN {cosines} b ON a.text <> b.text");
        var intra = Scalar(db, $"""
            SELECT avg(c) FROM (
                SELECT avg(list_cosine_similarity(a.v, b.v)) AS c FROM {cosines} a JOIN {cosines} b
                ON a.text = b.text AND a.position <> b.position GROUP BY a.text)
            """);
        var meanNorm = Scalar(db, "SELECT avg(norm) FROM tokens");

        foreach (var bufferRows in new[] { 2048, 4, 1 })
        {
            using var accumulator = Accumulate(corpus, bufferRows);
            var s = accumulator.Result();
            Assert.Equal(19, s.Tokens);
            Assert.Equal(4, s.Texts);
            Assert.Equal(1, s.ZeroVectors);
            Assert.Equal(anisotropy, s.Anisotropy, 1e-9);
            Assert.Equal(intra, s.IntraTextSimilarity, 1e-9);
            Assert.Equal(4, s.IntraTextTexts);
            Assert.Equal(meanNorm, s.MeanNorm, 1e-9);
            Assert.True(double.IsNaN(s.SelfSimilarity));
            Assert.Equal(0, s.SelfSimilarityTypes);
        }
    }

    /// <summary>Eigenvalues of a symmetric matrix by cyclic Jacobi rotations.</summary>
    private static double[] JacobiEigenvalues(double[,] matrix)
    {
        var a = (double[,])matrix.Clone();
        var n = a.GetLength(0);
        for (var sweep = 0; sweep < 100; sweep++)
        {
            var off = 0.0;
            for (var p = 0; p < n; p++)
                for (var q = p + 1; q < n; q++) off += a[p, q] * a[p, q];
            if (off < 1e-30) break;
            for (var p = 0; p < n; p++)
                for (var q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0) continue;
                    var theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    var t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    var c = 1 / Math.Sqrt(t * t + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (var k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                }
        }
        return [.. Enumerable.Range(0, n).Select(i => a[i, i])];
    }

    [Fact]
    public void EffectiveDimensionalityIsTheParticipationRatioOfTheCovarianceEigenvalues()
    {
        var corpus = Corpus();
        var rows = corpus.SelectMany(t => Enumerable.Range(0, t.GetLength(0)).Select(i => Enumerable.Range(0, Dim).Select(j => (double)t[i, j]).ToArray())).ToList();
        var mean = Enumerable.Range(0, Dim).Select(j => rows.Average(r => r[j])).ToArray();
        var covariance = new double[Dim, Dim];
        foreach (var r in rows)
            for (var i = 0; i < Dim; i++)
                for (var j = 0; j < Dim; j++) covariance[i, j] += (r[i] - mean[i]) * (r[j] - mean[j]) / rows.Count;
        var eigenvalues = JacobiEigenvalues(covariance);
        var expected = Math.Pow(eigenvalues.Sum(), 2) / eigenvalues.Sum(l => l * l);
        Assert.InRange(expected, 1.01, Dim); // the zero vector, far from the offset mean, makes one direction dominate

        foreach (var bufferRows in new[] { 2048, 5, 1 })
        {
            using var accumulator = Accumulate(corpus, bufferRows);
            Assert.Equal(expected, accumulator.Result().EffectiveDimensionality, 1e-9);
        }

        // Isotropic data: d equal eigenvalues give d; data on a line gives 1.
        using var line = new LayerStatisticsAccumulator(3);
        line.AddText([1, 2, 3, 2, 4, 6, -1, -2, -3], 3, 3);
        Assert.Equal(1.0, line.Result().EffectiveDimensionality, 1e-12);
        using var cube = new LayerStatisticsAccumulator(2);
        cube.AddText([1, 1, 1, -1, -1, 1, -1, -1], 4, 2);
        Assert.Equal(2.0, cube.Result().EffectiveDimensionality, 1e-12);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public void SelfSimilarityIsTheMeanOverTypesOfTheMeanPairwiseCosineOfTheirOccurrences()
    {
        var random = new Random(7);
        float[] Vector() => [.. Enumerable.Range(0, Dim).Select(_ => (float)(random.NextDouble() - 0.3))];
        // Type 0: 4 occurrences, type 1: 2, type 2: 1 (left out), type 3: 3 occurrences and one zero vector (ignored).
        var occurrences = new List<(int Type, float[] Vector)>();
        foreach (var (type, count) in new[] { (0, 4), (1, 2), (2, 1), (3, 3) })
            for (var i = 0; i < count; i++) occurrences.Add((type, Vector()));
        occurrences.Add((3, new float[Dim]));
        occurrences = [.. occurrences.OrderBy(_ => random.Next())];

        using var accumulator = new LayerStatisticsAccumulator(Dim, typeCount: 4);
        foreach (var (type, vector) in occurrences) accumulator.AddOccurrence(type, vector);

        double TypeMean(int type)
        {
            var v = occurrences.Where(o => o.Type == type && o.Vector.Any(x => x != 0)).Select(o => o.Vector).ToList();
            var cosines = from i in Enumerable.Range(0, v.Count) from j in Enumerable.Range(0, v.Count) where i < j select Cosine(v[i], v[j]);
            return cosines.Average();
        }
        var s = accumulator.Result();
        Assert.Equal(3, s.SelfSimilarityTypes);
        Assert.Equal((TypeMean(0) + TypeMean(1) + TypeMean(3)) / 3, s.SelfSimilarity, 1e-12);
        var atLeastThree = accumulator.Result(minOccurrences: 3);
        Assert.Equal(2, atLeastThree.SelfSimilarityTypes);
        Assert.Equal((TypeMean(0) + TypeMean(3)) / 2, atLeastThree.SelfSimilarity, 1e-12);
        Assert.Equal(0, s.Tokens);
        Assert.True(double.IsNaN(s.Anisotropy) && double.IsNaN(s.EffectiveDimensionality) && double.IsNaN(s.MeanNorm));
        Assert.Throws<ArgumentOutOfRangeException>(() => accumulator.AddOccurrence(4, Vector()));
    }

    [Fact]
    public void ResultMayBeTakenAgainAfterMoreTextsAndSingleTokenTextsOnlyCountAcrossTexts()
    {
        var corpus = Corpus();
        using var whole = Accumulate(corpus, 3);
        using var growing = new LayerStatisticsAccumulator(Dim, bufferRows: 3);
        growing.AddText(Flat(corpus[0]), corpus[0].GetLength(0), Dim);
        var first = growing.Result();
        Assert.True(double.IsNaN(first.Anisotropy)); // one text: no pair of different texts
        foreach (var t in corpus.Skip(1)) growing.AddText(Flat(t), t.GetLength(0), Dim);
        Assert.Equal(whole.Result(), growing.Result());

        // Two single-token texts: anisotropy is their cosine; no text has an intra-text pair.
        using var pair = new LayerStatisticsAccumulator(2);
        pair.AddText([1, 0], 1, 2);
        pair.AddText([1, 1], 1, 2);
        var p = pair.Result();
        Assert.Equal(Math.Sqrt(0.5), p.Anisotropy, 1e-15);
        Assert.True(double.IsNaN(p.IntraTextSimilarity));
        Assert.Equal(0, p.IntraTextTexts);
    }
}
