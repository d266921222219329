using System.Text.Json.Nodes;
using Tta.Cache;
using Tta.Config;
using Tta.Explorer;
using Tta.Figures;
using Tta.Models;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics.LogitLens;

/// <summary>
/// <c>metrics.logit_lens</c> (nostalgebraist 2020): every hidden state of the stack the language-model head reads, run
/// through the model's own final norm and unembedding (<see cref="ILanguageModelHead"/>): the top-k tokens with their
/// probabilities and the rank and probability of the token that comes next, per layer and position
/// (<see cref="LogitLensMetricsUnit"/>), drawn as the classic layers × positions grid (<see cref="LogitLensFigures"/>)
/// and shown with hover in the explorer (<see cref="LogitLensView"/>).
/// </summary>
public sealed class LogitLensKind : MetricKind<LogitLensSettings>
{
    public const string Key = "logit_lens";
    public const int DefaultK = 5, MaxK = 100;
    private static readonly string[] Keys = ["k"];

    public override string Name => Key;
    public override string Description => "logit lens";
    public override string Example => "logit_lens: { k: 5 }";

    /// <summary><c>true</c> (k = 5), <c>false</c> (off) or <c>{ k: N }</c>, N in 1..100.</summary>
    public override object? Read(YamlNodeReader reader, YamlNode value)
    {
        if (value is YamlScalarNode) return reader.Bool(value, Key) ? new LogitLensSettings(DefaultK) : null;
        var f = reader.Fields(value, "'metrics.logit_lens'", Keys, "write 'logit_lens: true' or e.g. 'logit_lens: { k: 5 }'");
        var k = DefaultK;
        if (f.TryGetValue("k", out var kv) && !YamlNodeReader.IsNull(kv.Value))
        {
            k = reader.Int(kv.Value, "k");
            if (k is < 1 or > MaxK)
                throw reader.Error(kv.Value, $"logit_lens k {k} is out of range", $"use 1..{MaxK} (default {DefaultK})");
        }
        return new LogitLensSettings(k);
    }

    /// <summary>
    /// Refuses a model whose architecture has no language-model head (BERT, MiniLM): the lens has nothing to read its
    /// states through. Called before any stage where the checkpoint's config is at hand, and by the unit.
    /// </summary>
    public override void CheckModel(ModelSpec model, JsonObject config, string checkpointDir)
    {
        var architecture = ModelFactory.For(config, checkpointDir);
        if (architecture.HeadStack is null)
            throw new ConfigException(model.At,
                $"metrics.logit_lens: model '{model.Key}' ({model.Id}, {architecture.ModelType}) has no language-model head to read its hidden states through; " +
                "drop logit_lens from this experiment's metrics, or move the model to an experiment without it (the lens needs a model with an LM head: GPT-2, Llama, Falcon, T5)");
    }

    public override MetricsUnitBase Unit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text) =>
        new LogitLensMetricsUnit(ws, experiment, model, text);

    public override IReadOnlyList<FigureJob> Figures(FigureContext context, string parquet) => LogitLensFigures.Render(context, parquet);

    public override GalleryCaption Caption(FigureRecord figure, PointDescriber describePoint) =>
        new("logit lens", $"{figure.Stack} · {figure.Point} · top token per layer and position, coloured by its probability",
            Depth: Depth.OfBlock(figure.Layer));

    public override bool HasView => true;

    public override void Explore(ExplorerSet set, string parquet) => LogitLensView.Add(set, parquet);
}
