using System.Text.Json;
using Tta.Store;
using Tta.Config;

namespace Tta.Explorer;

/// <summary>
/// The views of one model × text that the explorer page shows, filled by the metric kinds that have one (each reads
/// its file into its view), in registry order: similarity first (its file's metadata gives the tokens the others are
/// read against, and the names and depths of the capture points the gallery's captions use).
/// </summary>
public sealed class ExplorerSet(Experiment experiment, string model, Func<QuantizedMap, int> addMap, TokenTables tokenTables)
{
    /// <summary>The experiment whose page this is (a view reads its settings, e.g. the order of the measures).</summary>
    public Experiment Experiment { get; } = experiment;

    /// <summary>The similarity file's metadata (tokens, model, dtype); null until the similarity view is read.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; set; }

    public List<ViewEntry> Similarity { get; } = [];
    public List<ViewEntry> Attention { get; } = [];
    public List<ViewEntry> Projection { get; } = [];
    public Dictionary<string, ViewEntry>? Nearest { get; set; }

    /// <summary>The logit lens grids (one per hidden-state series); null without <c>metrics.logit_lens</c>.</summary>
    public List<ViewEntry>? LogitLens { get; set; }

    /// <summary>Each capture point's label (as its similarity figure's title names it) and depth (<see cref="Depth"/>), by stack and point.</summary>
    public Dictionary<(string Stack, string Point), (string Label, double Depth)> Points { get; } = [];

    /// <summary>Adds a quantised map to the page; returns its index (what an entry names it by).</summary>
    public int Add(QuantizedMap map) => addMap(map);

    /// <summary>The page's table of this model's vocabulary tokens as <paramref name="reading"/> shows them (shared by its texts).</summary>
    public TokenTable TokenTable(string reading) => tokenTables.For(model, reading);

    /// <summary>The text's tokens as the similarity file records them (read after the similarity view).</summary>
    public string[] Tokens => TokensOf(Metadata ?? throw new InvalidOperationException("the tokens are read after the similarity maps"));

    /// <summary>The tokens a store's metadata records (<c>tta.tokens</c>), or none.</summary>
    public static string[] TokensOf(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(StoreKeys.Tokens, out var json) ? JsonSerializer.Deserialize<string[]>(json) ?? [] : [];
}
