using Tta.Metrics.Cka;

namespace Tta.Tests.Metrics;

/// <summary>
/// Linear CKA, streamed in feature space, against the n × n Gram-matrix (HSIC) form written here independently, and
/// its invariances: CKA(X, X) = CKA(X, XQ) = CKA(X, aX) = 1.
/// </summary>
public sealed class LinearCkaTests
{
    /// <summary>n × d, row-major, Gaussian-ish values with a non-zero mean per column.</summary>
    private static double[,] RandomMatrix(Random random, int n, int d, double offset = 3)
    {
        var m = new double[n, d];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++) m[i, j] = random.NextDouble() * 2 - 1 + random.NextDouble() + offset * (j % 3);
        return m;
    }

    private static float[] Rows(double[,] m, int from, int count)
    {
        var d = m.GetLength(1);
        var result = new float[count * d];
        for (var i = 0; i < count; i++)
            for (var j = 0; j < d; j++) result[i * d + j] = (float)m[from + i, j];
        return result;
    }

    /// <summary>The float32 values the accumulator sees, back as float64 (so both formulas get the same numbers).</summary>
    private static double[,] AsFloat(double[,] m)
    {
        var r = (double[,])m.Clone();
        for (var i = 0; i < r.GetLength(0); i++)
            for (var j = 0; j < r.GetLength(1); j++) r[i, j] = (float)r[i, j];
        return r;
    }

    /// <summary>K H, H = I − 11ᵀ/n, for K = XXᵀ.</summary>
    private static double[,] CentredGram(double[,] x)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var k = new double[n, n];
        for (var a = 0; a < n; a++)
            for (var b = 0; b < n; b++)
            {
                var s = 0.0;
                for (var j = 0; j < d; j++) s += x[a, j] * x[b, j];
                k[a, b] = s;
            }
        // K H: subtract each row's mean.
        for (var a = 0; a < n; a++)
        {
            var mean = 0.0;
            for (var b = 0; b < n; b++) mean += k[a, b];
            mean /= n;
            for (var b = 0; b < n; b++) k[a, b] -= mean;
        }
        return k;
    }

    /// <summary>tr(A B) for square A, B.</summary>
    private static double TraceOfProduct(double[,] a, double[,] b)
    {
        var n = a.GetLength(0);
        var s = 0.0;
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++) s += a[i, j] * b[j, i];
        return s;
    }

    /// <summary>CKA = tr(KHLH) / √(tr(KHKH) tr(LHLH)).</summary>
    private static double GramCka(double[,] x, double[,] y)
    {
        var kh = CentredGram(x);
        var lh = CentredGram(y);
        return TraceOfProduct(kh, lh) / Math.Sqrt(TraceOfProduct(kh, kh) * TraceOfProduct(lh, lh));
    }

    /// <summary>Feeds the layers to the accumulator in texts of the given lengths.</summary>
    private static double[,] Streamed(IReadOnlyList<double[,]> a, IReadOnlyList<double[,]> b, int[] textLengths, int bufferRows)
    {
        using var cka = new LinearCka([.. a.Select(m => m.GetLength(1))], [.. b.Select(m => m.GetLength(1))], bufferRows);
        var from = 0;
        foreach (var length in textLengths)
        {
            cka.Add(length, [.. a.Select(m => Rows(m, from, length))], [.. b.Select(m => Rows(m, from, length))]);
            from += length;
        }
        Assert.Equal(a[0].GetLength(0), from);
        Assert.Equal(from, cka.Rows);
        return cka.Result();
    }

    [Theory]
    [InlineData(1024)] // one batch
    [InlineData(7)]    // batches that cut texts
    [InlineData(1)]    // one row per batch
    public void StreamedFeatureSpaceEqualsTheGramMatrixForm(int bufferRows)
    {
        var random = new Random(23);
        const int n = 40;
        var a = new[] { AsFloat(RandomMatrix(random, n, 5)), AsFloat(RandomMatrix(random, n, 3)) };
        var b = new[] { AsFloat(RandomMatrix(random, n, 4)), AsFloat(RandomMatrix(random, n, 6)), AsFloat(RandomMatrix(random, n, 2)) };
        // Make some pairs related, so the values spread over (0, 1).
        for (var i = 0; i < n; i++)
        {
            b[1][i, 0] = (float)(a[0][i, 0] + a[0][i, 1]);
            b[1][i, 2] = (float)(2 * a[1][i, 2] - a[0][i, 3]);
        }
        var streamed = Streamed(a, b, [3, 9, 1, 12, 15], bufferRows);
        for (var i = 0; i < a.Length; i++)
            for (var j = 0; j < b.Length; j++)
                Assert.Equal(GramCka(a[i], b[j]), streamed[i, j], 1e-9);
    }

    [Fact]
    public void WithinEqualsTheGramMatrixFormAndIsSymmetricWithOnesOnTheDiagonal()
    {
        var random = new Random(5);
        const int n = 30;
        var layers = new[] { AsFloat(RandomMatrix(random, n, 4)), AsFloat(RandomMatrix(random, n, 6)), AsFloat(RandomMatrix(random, n, 3)) };
        for (var i = 0; i < n; i++) layers[1][i, 0] = layers[0][i, 2];
        using var cka = LinearCka.Within([4, 6, 3], bufferRows: 8);
        cka.Add(12, [.. layers.Select(m => Rows(m, 0, 12))]);
        cka.Add(18, [.. layers.Select(m => Rows(m, 12, 18))]);
        var result = cka.Result();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(1.0, result[i, i], 1e-12);
            for (var j = 0; j < 3; j++)
            {
                Assert.Equal(result[i, j], result[j, i]);
                Assert.Equal(GramCka(layers[i], layers[j]), result[i, j], 1e-9);
            }
        }
        Assert.Throws<InvalidOperationException>(() => cka.Add(1, [new float[4], new float[6], new float[3]], [new float[4], new float[6], new float[3]]));
    }

    /// <summary>A random d × d orthogonal matrix: Gram–Schmidt on random columns.</summary>
    private static double[,] RandomOrthogonal(Random random, int d)
    {
        var q = new double[d, d];
        for (var c = 0; c < d; c++)
        {
            var v = new double[d];
            for (var i = 0; i < d; i++) v[i] = random.NextDouble() * 2 - 1;
            for (var p = 0; p < c; p++)
            {
                var dot = 0.0;
                for (var i = 0; i < d; i++) dot += v[i] * q[i, p];
                for (var i = 0; i < d; i++) v[i] -= dot * q[i, p];
            }
            var norm = Math.Sqrt(v.Sum(x => x * x));
            for (var i = 0; i < d; i++) q[i, c] = v[i] / norm;
        }
        return q;
    }

    private static double[,] Multiply(double[,] x, double[,] q)
    {
        int n = x.GetLength(0), d = x.GetLength(1), e = q.GetLength(1);
        var r = new double[n, e];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < e; j++)
                for (var k = 0; k < d; k++) r[i, j] += x[i, k] * q[k, j];
        return r;
    }

    [Fact]
    public void IsOneForTheSameRepresentationRotatedOrScaled()
    {
        var random = new Random(11);
        const int n = 60, d = 7;
        var x = RandomMatrix(random, n, d);
        var q = RandomOrthogonal(random, d);
        var identity = Multiply(q, Transpose(q));
        for (var i = 0; i < d; i++)
            for (var j = 0; j < d; j++) Assert.Equal(i == j ? 1.0 : 0.0, identity[i, j], 1e-12);
        var scaled = (double[,])x.Clone();
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++) scaled[i, j] *= -37.5;

        var result = Streamed([x], [x, Multiply(x, q), scaled], [20, 25, 15], bufferRows: 16);
        // Float32 inputs: XQ and aX are rounded after the product, so equality holds to float32 precision.
        Assert.Equal(1.0, result[0, 0], 1e-12);
        Assert.Equal(1.0, result[0, 1], 1e-6);
        Assert.Equal(1.0, result[0, 2], 1e-6);
    }

    private static double[,] Transpose(double[,] m)
    {
        var r = new double[m.GetLength(1), m.GetLength(0)];
        for (var i = 0; i < m.GetLength(0); i++)
            for (var j = 0; j < m.GetLength(1); j++) r[j, i] = m[i, j];
        return r;
    }

    [Fact]
    public void IsSmallForIndependentRepresentations()
    {
        var random = new Random(3);
        const int n = 2000;
        var result = Streamed([RandomMatrix(random, n, 8)], [RandomMatrix(random, n, 8)], [n], bufferRows: 300);
        Assert.InRange(result[0, 0], 0, 0.02);
    }

    [Fact]
    public void ConstantLayersGiveNaNAndEmptyInputGivesNaN()
    {
        using var empty = new LinearCka([2], [3]);
        Assert.True(double.IsNaN(empty.Result()[0, 0]));
        using var cka = new LinearCka([2], [2]);
        cka.Add(3, [new float[] { 1, 2, 1, 2, 1, 2 }], [new float[] { 1, 0, 2, 5, 3, 1 }]);
        Assert.True(double.IsNaN(cka.Result()[0, 0]));
    }

    [Fact]
    public void PassesSplitALayersWithinTheBoundAndTheirResultsAreTheRowsOfTheWhole()
    {
        int[] dimsA = [4, 4, 4, 4, 4], dimsB = [3, 5];
        var one = LinearCka.BytesFor([4], dimsB);
        Assert.Equal(8 * (4 * 8 + 16 + 9 + 25), one);
        Assert.Equal(8L * 20 * 20, LinearCka.BytesFor(dimsA, null));
        var passes = LinearCka.PlanPasses(dimsA, dimsB, LinearCka.BytesFor([4, 4], dimsB));
        Assert.Equal([(0, 2), (2, 2), (4, 1)], passes);
        Assert.Equal([(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)], LinearCka.PlanPasses(dimsA, dimsB, 1));

        var random = new Random(8);
        const int n = 25;
        var a = dimsA.Select(d => AsFloat(RandomMatrix(random, n, d))).ToArray();
        var b = dimsB.Select(d => AsFloat(RandomMatrix(random, n, d))).ToArray();
        var whole = Streamed(a, b, [n], 64);
        foreach (var (first, count) in passes)
        {
            var part = Streamed(a[first..(first + count)], b, [10, 15], 64);
            for (var i = 0; i < count; i++)
                for (var j = 0; j < dimsB.Length; j++) Assert.Equal(whole[first + i, j], part[i, j], 1e-12);
        }
    }
}
