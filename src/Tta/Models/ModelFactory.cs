using System.Text.Json.Nodes;
using Tta.Core;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// The one place that maps config.json's <c>model_type</c> to an architecture (<see cref="IArchitecture"/>, one per
/// file under Models/), and loads checkpoints with it.
/// </summary>
public static class ModelFactory
{
    // Architectures register here, one file each under Models/.
    private static readonly IArchitecture[] Architectures =
    [
        Bert.Architecture.Instance,
        Falcon.Architecture.Instance,
        Gpt2.Architecture.Instance,
        Llama.Architecture.Instance,
        T5Model.Architecture.Instance,
    ];

    public static readonly IReadOnlyList<string> SupportedModelTypes = [.. Architectures.Select(a => a.ModelType)];

    /// <summary>The architecture of a config.json's <c>model_type</c>; <paramref name="where"/> names the file in the error.</summary>
    public static IArchitecture For(JsonObject config, string where)
    {
        var type = ConfigJson.Checked(where, () => config.Str("model_type", ""));
        return Architectures.FirstOrDefault(a => a.ModelType == type) ?? throw new NotSupportedException(
            $"{Path.Combine(where, "config.json")}: model_type '{type}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}");
    }

    /// <summary>What the architecture knows about the config of checkpoint <paramref name="directory"/> (validated).</summary>
    public static ModelFacts Facts(JsonObject config, string directory) =>
        ConfigJson.Checked(directory, () => For(config, directory).Facts(config));

    /// <summary>Layers of the deepest stack of checkpoint <paramref name="directory"/>'s config (<see cref="IArchitecture.LayerCount"/>).</summary>
    public static int LayerCount(JsonObject config, string directory) =>
        ConfigJson.Checked(directory, () => For(config, directory).LayerCount(config));

    /// <summary>Every capture point a model with this config can record (<see cref="IArchitecture.CapturePoints"/>).</summary>
    public static IEnumerable<CapturePoint> CapturePoints(JsonObject config, string directory) =>
        ConfigJson.Checked(directory, () => For(config, directory).CapturePoints(config));

    /// <summary>
    /// Loads a checkpoint. Its config is validated first, and a model whose weights alone exceed the memory this
    /// process can have is refused before anything is allocated (<see cref="MemoryEstimate.RefuseIfWeightsCannotFit"/>).
    /// The weights are stored in <paramref name="dtype"/> and the model computes in <paramref name="computeDtype"/>
    /// (float32 or <paramref name="dtype"/>; <paramref name="dtype"/> when null). The bytes read are reported to
    /// <paramref name="progress"/>.
    /// </summary>
    public static ITransformerModel Load(string directory, ScalarType dtype, ScalarType? computeDtype = null, Device? device = null,
        IUnitProgress? progress = null)
    {
        using var checkpoint = new Checkpoint(directory, progress);
        var architecture = For(checkpoint.Config, directory);
        var facts = Facts(checkpoint.Config, directory);
        MemoryEstimate.RefuseIfWeightsCannotFit(directory, facts, dtype);
        return ConfigJson.Checked(directory, () => architecture.Load(checkpoint, dtype, computeDtype ?? dtype, device));
    }
}
