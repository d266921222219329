namespace Tta.Models;

/// <summary>How a synthetic checkpoint fills a tensor: random normal values (matrices), ones (norm scales), zeros (biases).</summary>
public enum TensorFill { Normal, Ones, Zeros }

/// <summary>
/// One tensor of a checkpoint layout: its key, shape and synthetic fill. In a block template <c>{i}</c> in the name
/// stands for the block index.
/// </summary>
public sealed record TensorSpec(string Name, long[] Shape, TensorFill Fill = TensorFill.Normal)
{
    /// <summary>Element count, as a double so absurd configs cannot overflow it.</summary>
    public double Elements => Shape.Aggregate(1.0, (a, b) => a * b);
}
