using System.Text.Json.Serialization;

namespace Tta.Explorer;

/// <summary>
/// Vocabulary tokens as the page shows them, by token id: written once per model instead of in every entry that names
/// one, so a view's entries hold ids and the page's script looks the strings up here. Only the ids used are in it.
/// (The nearest tokens of every token × hidden state × rank, as strings, were most of a page at real size.)
/// </summary>
public sealed class TokenTable(string model, string reading)
{
    private readonly SortedDictionary<long, string> tokens = [];

    /// <summary>Where the page's data lists this table (what an entry names it by).</summary>
    [JsonIgnore]
    public int Index { get; init; }

    /// <summary>The model key whose vocabulary this is.</summary>
    public string Model { get; } = model;

    /// <summary>How the strings were made from the vocabulary (a view's own rule, e.g. whether pieces are byte-level).</summary>
    public string Reading { get; } = reading;

    /// <summary>Token id → the string shown, in id order.</summary>
    public IReadOnlyDictionary<long, string> Tokens => tokens;

    /// <summary>Records the string shown for <paramref name="id"/> and returns the id (what an entry holds).</summary>
    public long Add(long id, string shown)
    {
        ArgumentNullException.ThrowIfNull(shown);
        if (!tokens.TryAdd(id, shown) && tokens[id] != shown)
            throw new InvalidOperationException($"token {id} of {Model} ({Reading}) is shown as both '{tokens[id]}' and '{shown}'");
        return id;
    }
}

/// <summary>The page's token tables: one per model and reading (in practice one per model), in the order first asked for.</summary>
public sealed class TokenTables
{
    private readonly List<TokenTable> tables = [];

    public IReadOnlyList<TokenTable> All => tables;

    /// <summary>The table of <paramref name="model"/>'s tokens as read by <paramref name="reading"/>, made on first use.</summary>
    public TokenTable For(string model, string reading)
    {
        var table = tables.FirstOrDefault(t => t.Model == model && t.Reading == reading);
        if (table is null)
        {
            table = new TokenTable(model, reading) { Index = tables.Count };
            tables.Add(table);
        }
        return table;
    }
}
