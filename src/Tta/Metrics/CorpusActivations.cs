using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Store;

namespace Tta.Metrics;

/// <summary>
/// The stored hidden states of every text of one model in an experiment, read one text at a time (a study's memory
/// holds one text's layers, whatever the corpus size), in the experiment's text order.
/// </summary>
public sealed class CorpusActivations(Workspace ws, Experiment experiment, ModelSpec model)
{
    /// <summary>Every text's hidden-state series, in order; <paramref name="visit"/> gets each text's states.</summary>
    public async Task ForEachTextAsync(Func<TextStates, Task> visit)
    {
        foreach (var text in experiment.Texts)
            await visit(await ReadAsync(text));
    }

    /// <summary>One text's tokens (as the tokenizer wrote them) and their ids, from its activations' footer alone.</summary>
    public async Task<(string[] Tokens, long[] Ids)> TokensAsync(TextSpec text)
    {
        var metadata = await VectorStoreReader.ReadMetadataAsync(PathOf(text));
        return (Tokens(metadata), Ids(metadata));
    }

    private string PathOf(TextSpec text)
    {
        var path = ExtractStage.OutputPath(ws, experiment, model, text);
        if (!File.Exists(path)) throw new MissingInputException($"{path}: the activations of {experiment.Name}/{model.Key}/{text.Key} are missing — run Extract first");
        return path;
    }

    private static string[] Tokens(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(StoreKeys.Tokens, out var t) ? JsonSerializer.Deserialize<string[]>(t) ?? [] : [];

    private static long[] Ids(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(StoreKeys.TokenIds, out var i) ? JsonSerializer.Deserialize<long[]>(i) ?? [] : [];

    /// <summary>One text's tokens and hidden-state series (each series' layers in order).</summary>
    public async Task<TextStates> ReadAsync(TextSpec text)
    {
        await using var store = await VectorStoreReader.OpenAsync(PathOf(text));
        var points = store.Points;
        var series = new Dictionary<string, (string Stack, SortedDictionary<int, VectorBlock> Layers)>(StringComparer.Ordinal);
        var order = new List<string>();
        await store.ForEachBlockAsync(block =>
        {
            if (points.HiddenStateSeries(block.Key) is not { } name) return Task.CompletedTask;
            if (!series.TryGetValue(name, out var s))
            {
                series[name] = s = (block.Key.Stack, new SortedDictionary<int, VectorBlock>());
                order.Add(name);
            }
            s.Layers[block.Key.Layer] = block;
            return Task.CompletedTask;
        });
        return new TextStates(text, Tokens(store.Metadata), Ids(store.Metadata),
            [.. order.Select(name => new SeriesStates(name, series[name].Stack, [.. series[name].Layers.Keys], [.. series[name].Layers.Values]))]);
    }
}

/// <summary>One text's tokens (as the tokenizer wrote them, and their ids) and its hidden-state series.</summary>
public sealed record TextStates(TextSpec Text, string[] Tokens, long[] Ids, IReadOnlyList<SeriesStates> Series)
{
    /// <summary>The series named <paramref name="name"/>, or null.</summary>
    public SeriesStates? Find(string name) => Series.FirstOrDefault(s => s.Name == name);
}

/// <summary>
/// One hidden-state series of a text (e.g. <c>hidden_states</c>, <c>encoder_hidden_states</c>): its stack, the stored
/// layers in order and their blocks (positions × dim).
/// </summary>
public sealed record SeriesStates(string Name, string Stack, IReadOnlyList<int> Layers, IReadOnlyList<VectorBlock> Blocks)
{
    public int Positions => Blocks.Count == 0 ? 0 : Blocks[0].Positions;
    public int Dim => Blocks.Count == 0 ? 0 : Blocks[0].Dim;
}
