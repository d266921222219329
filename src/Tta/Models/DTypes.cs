using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>The dtypes a model can be loaded in, by the names experiments and options use.</summary>
public static class DTypes
{
    /// <summary>The names <see cref="Parse"/> reads, as experiments write them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["float32", "bfloat16", "float16"];

    /// <summary>The scalar type of <c>float32</c>, <c>bfloat16</c> or <c>float16</c>.</summary>
    public static ScalarType Parse(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new ArgumentException($"unknown dtype {name}"),
    };

    /// <summary>The name of a scalar type <see cref="Parse"/> reads (<c>float32</c>, <c>bfloat16</c>, <c>float16</c>).</summary>
    public static string Name(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => throw new ArgumentException($"dtype {dtype}: use float32, bfloat16 or float16"),
    };
}
