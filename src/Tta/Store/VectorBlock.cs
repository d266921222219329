namespace Tta.Store;

/// <summary>One block read back: <see cref="Values"/> is row-major [Positions, Dim].</summary>
public sealed record VectorBlock(ActivationPoint Key, int Positions, int Dim, float[] Values)
{
    public ReadOnlySpan<float> Row(int position) => Values.AsSpan(position * Dim, Dim);
}
