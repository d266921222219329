using TorchSharp;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Tensor-with-number operations that are safe under garbage collection. TorchSharp turns a plain number met by a
/// tensor (<c>0.5 * t</c>, <c>t.pow(3.0)</c>, <c>t.clamp_min(1e-12)</c>, <c>arange(n)</c>) into a temporary
/// <see cref="Scalar"/> and hands libtorch its native handle without keeping the managed object alive, so a
/// collection during the call can free the scalar while libtorch still reads it (a random crash in
/// <c>c10/core/Scalar.h</c>). Each method here owns its scalar for the whole call (created, used, then disposed), so
/// <c>t.Mul(0.5)</c> is the safe spelling of <c>0.5 * t</c>. The rule is checked by ScalarSafetyTests: outside this
/// file no code in src/ may create a <see cref="Scalar"/> or call a TorchSharp member that creates one.
/// Integer overloads keep integer tensors integral (as a long scalar does in torch).
/// </summary>
public static class ScalarOps
{
    /// <summary>The alpha of additions (TorchSharp's <c>add(Tensor)</c> would make a temporary 1); lives as long as the process.</summary>
    private static readonly Scalar One = 1L.ToScalar();

    private static Tensor With(double value, Func<Scalar, Tensor> op)
    {
        using var s = value.ToScalar();
        return op(s);
    }

    private static Tensor With(long value, Func<Scalar, Tensor> op)
    {
        using var s = value.ToScalar();
        return op(s);
    }

    /// <summary>t + other (TorchSharp's <c>+</c> of two tensors makes a temporary alpha scalar).</summary>
    public static Tensor Add(this Tensor t, Tensor other) => t.add(other, One);

    /// <summary>t += other, in place; returns t.</summary>
    public static Tensor AddInPlace(this Tensor t, Tensor other) => t.add_(other, One);

    /// <summary>t + value.</summary>
    public static Tensor Add(this Tensor t, double value) => With(value, s => t.add(s, One));
    public static Tensor Add(this Tensor t, long value) => With(value, s => t.add(s, One));

    /// <summary>t², elementwise (TorchSharp's <c>square()</c> is <c>pow(2)</c> with a temporary 2).</summary>
    public static Tensor Squared(this Tensor t) => t.mul(t);

    /// <summary>t − value.</summary>
    public static Tensor Sub(this Tensor t, double value) => With(value, t.sub);
    public static Tensor Sub(this Tensor t, long value) => With(value, t.sub);

    /// <summary>value − t.</summary>
    public static Tensor RSub(this Tensor t, double value) => With(value, s => { using var n = t.neg(); return n.add(s, One); });

    /// <summary>t · value.</summary>
    public static Tensor Mul(this Tensor t, double value) => With(value, t.mul);
    public static Tensor Mul(this Tensor t, long value) => With(value, t.mul);

    /// <summary>t ·= value, in place; returns t.</summary>
    public static Tensor MulInPlace(this Tensor t, double value) => With(value, t.mul_);

    /// <summary>t / value (true division).</summary>
    public static Tensor Div(this Tensor t, double value) => With(value, s => t.div(s));

    /// <summary>value / t.</summary>
    public static Tensor RDiv(this Tensor t, double value) => With(value, s => { using var r = t.reciprocal(); return r.mul(s); });

    /// <summary>t ^ exponent.</summary>
    public static Tensor Pow(this Tensor t, double exponent) => With(exponent, t.pow);
    public static Tensor Pow(this Tensor t, long exponent) => With(exponent, t.pow);

    public static Tensor ClampMin(this Tensor t, double min) => With(min, t.clamp_min);
    public static Tensor ClampMin(this Tensor t, long min) => With(min, t.clamp_min);
    public static Tensor ClampMax(this Tensor t, double max) => With(max, t.clamp_max);
    public static Tensor ClampMax(this Tensor t, long max) => With(max, t.clamp_max);

    public static Tensor Clamp(this Tensor t, double min, double max) =>
        With(min, lo => With(max, hi => t.clamp(lo, hi)));

    /// <summary>t with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor MaskedFill(this Tensor t, Tensor mask, double value) => With(value, s => t.masked_fill(mask, s));
    public static Tensor MaskedFill(this Tensor t, Tensor mask, long value) => With(value, s => t.masked_fill(mask, s));

    public static Tensor Eq(this Tensor t, long value) => With(value, t.eq);
    public static Tensor Ne(this Tensor t, long value) => With(value, t.ne);
    public static Tensor Gt(this Tensor t, double value) => With(value, t.gt);
    public static Tensor Gt(this Tensor t, long value) => With(value, t.gt);
    public static Tensor Lt(this Tensor t, double value) => With(value, t.lt);
    public static Tensor Lt(this Tensor t, long value) => With(value, t.lt);

    /// <summary>A tensor of <paramref name="shape"/> filled with <paramref name="value"/>.</summary>
    public static Tensor Full(long[] shape, double value, ScalarType dtype, Device? device = null) =>
        With(value, s => full(shape, s, dtype, device));

    /// <summary>0, 1, …, <paramref name="stop"/> − 1.</summary>
    public static Tensor Arange(long stop, ScalarType dtype, Device? device = null) => Arange(0, stop, 1, dtype, device);

    /// <summary><paramref name="start"/>, start + step, … below <paramref name="stop"/>.</summary>
    public static Tensor Arange(long start, long stop, long step, ScalarType dtype, Device? device = null) =>
        With(start, a => With(stop, b => With(step, c => arange(a, b, c, dtype, device))));
}
