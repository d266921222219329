namespace Tta.Metrics.Cka;

// TEMPORARY stand-in until the math branch lands (not to be committed).
public sealed class LinearCka(IReadOnlyList<int> dimsA, IReadOnlyList<int> dimsB) : IDisposable
{
    public void Add(int rows, IReadOnlyList<float[]> a, IReadOnlyList<float[]> b) { }
    public double[,] Result() => new double[dimsA.Count, dimsB.Count];
    public void Dispose() { }
}
