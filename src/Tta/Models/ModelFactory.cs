using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>Picks the architecture for a checkpoint directory from its config.json <c>model_type</c>.</summary>
public static class ModelFactory
{
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["bert", "falcon", "gpt2", "llama", "t5"];

    public static ITransformerModel Load(string directory, ScalarType dtype, Device? device = null)
    {
        using var checkpoint = new Checkpoint(directory);
        var type = checkpoint.Config.Str("model_type", "");
        return type switch
        {
            // Architectures register here, one file each under Models/.
            "bert" => Bert.Load(checkpoint, dtype, device),
            "t5" => T5Model.Load(checkpoint, dtype, device),
            "falcon" => new Falcon(checkpoint, dtype, device),
            "gpt2" => new Gpt2(checkpoint, dtype, device),
            "llama" => new Llama(checkpoint, dtype, device),
            _ => throw new NotSupportedException(
                $"{directory}/config.json: model_type '{type}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}"),
        };
    }
}
