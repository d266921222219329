using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// One architecture: its <c>model_type</c>, how it loads a checkpoint, and what it knows about a config before
/// anything is allocated (<see cref="ModelFacts"/>: checkpoint layout, block count, activation sizes).
/// </summary>
public sealed record Architecture(string ModelType, Func<Checkpoint, ScalarType, Device?, ITransformerModel> Load,
    Func<JsonObject, ModelFacts> Facts);

/// <summary>Picks the architecture for a checkpoint directory from its config.json <c>model_type</c>.</summary>
public static class ModelFactory
{
    // Architectures register here, one file each under Models/.
    private static readonly Architecture[] Architectures =
    [
        new("bert", (c, t, d) => Bert.Load(c, t, d), Bert.Facts),
        new("falcon", (c, t, d) => new Falcon(c, t, d), Falcon.Facts),
        new("gpt2", (c, t, d) => new Gpt2(c, t, d), Gpt2.Facts),
        new("llama", (c, t, d) => new Llama(c, t, d), Llama.Facts),
        new("t5", (c, t, d) => T5Model.Load(c, t, d), T5Model.Facts),
    ];

    public static readonly IReadOnlyList<string> SupportedModelTypes = [.. Architectures.Select(a => a.ModelType)];

    /// <summary>The architecture of a config.json's <c>model_type</c>; <paramref name="where"/> names the file in the error.</summary>
    public static Architecture For(JsonObject config, string where)
    {
        var type = ConfigJson.Checked(where, () => config.Str("model_type", ""));
        return Architectures.FirstOrDefault(a => a.ModelType == type) ?? throw new NotSupportedException(
            $"{Path.Combine(where, "config.json")}: model_type '{type}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}");
    }

    /// <summary>What the architecture knows about the config of checkpoint <paramref name="directory"/> (validated).</summary>
    public static ModelFacts Facts(JsonObject config, string directory) =>
        ConfigJson.Checked(directory, () => For(config, directory).Facts(config));

    /// <summary>
    /// Loads a checkpoint. Its config is validated first, and a model whose weights alone exceed the memory this
    /// process can have is refused before anything is allocated (<see cref="MemoryEstimate.RefuseIfWeightsCannotFit"/>).
    /// </summary>
    public static ITransformerModel Load(string directory, ScalarType dtype, Device? device = null)
    {
        using var checkpoint = new Checkpoint(directory);
        var architecture = For(checkpoint.Config, directory);
        var facts = Facts(checkpoint.Config, directory);
        MemoryEstimate.RefuseIfWeightsCannotFit(directory, facts, dtype);
        return ConfigJson.Checked(directory, () => architecture.Load(checkpoint, dtype, device));
    }
}
