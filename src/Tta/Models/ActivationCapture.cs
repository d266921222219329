using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Collects the internal tensors a forward pass exposes. Models call <see cref="Record"/> with the Hugging Face
/// module path of each quantity (<c>encoder.layer.0.attention.self.query</c>, <c>transformer.h.0.input_layernorm</c>,
/// <c>path#1</c> for a tuple item) or an output field (<c>hidden_states.3</c>, <c>encoder_hidden_states.0</c>,
/// <c>attentions.1</c>, <c>logits</c>, <c>last_hidden_state</c>); per attention module also <c>path.scores</c>
/// (pre-softmax, mask included), <c>path.position_bias</c> (T5) and <c>path.probs</c> (post-softmax).
/// Only selected names are kept (as detached float32 CPU copies), so unselected points cost nothing.
/// </summary>
public sealed class ActivationCapture : IDisposable
{
    private readonly Func<string, bool> select;
    private readonly List<KeyValuePair<string, Tensor>> items = [];
    private readonly HashSet<string> names = new(StringComparer.Ordinal);

    private readonly Action<string, Tensor>? sink;

    public ActivationCapture(Func<string, bool> select) => this.select = select;

    /// <summary>
    /// A capture that hands every selected tensor to <paramref name="sink"/> as it is produced (a float32 CPU copy,
    /// disposed right after) instead of keeping it, so a forward pass can be stored layer by layer in bounded memory.
    /// </summary>
    public ActivationCapture(Func<string, bool> select, Action<string, Tensor> sink)
    {
        this.select = select;
        this.sink = sink;
    }

    /// <summary>How many tensors were recorded (kept or handed to the sink).</summary>
    public int RecordedCount => names.Count;

    /// <summary>Keeps everything (the Forward target and the fixture tests use this).</summary>
    public static ActivationCapture All() => new(_ => true);

    /// <summary>Keeps names matching any of the glob patterns (<c>*</c> matches any run of characters).</summary>
    public static ActivationCapture Matching(IEnumerable<string> patterns)
    {
        var regexes = patterns.Select(PointPattern.ToRegex).ToList();
        return new ActivationCapture(name => regexes.Any(r => r.IsMatch(name)));
    }

    public bool Wants(string name) => select(name);

    /// <summary>Records <paramref name="value"/> under <paramref name="name"/> if selected. Recording a name twice is a bug.</summary>
    public void Record(string name, Tensor value)
    {
        if (!select(name)) return;
        if (!names.Add(name)) throw new InvalidOperationException($"capture point '{name}' recorded twice");
        // The copy belongs to this capture (disposed with it), not to whatever dispose scope the model opened.
        var copy = value.detach().to(ScalarType.Float32, CPU, copy: true).DetachFromDisposeScope();
        if (sink is null)
        {
            items.Add(new(name, copy));
            return;
        }
        using (copy) sink(name, copy);
    }

    /// <summary>Keeps <paramref name="value"/> itself (no copy) under <paramref name="name"/>: a capture rebuilt from storage.</summary>
    public void Adopt(string name, Tensor value)
    {
        if (sink is not null) throw new InvalidOperationException("a streaming capture keeps nothing");
        if (!names.Add(name)) throw new InvalidOperationException($"capture point '{name}' recorded twice");
        items.Add(new(name, value.DetachFromDisposeScope()));
    }

    /// <summary>Captured tensors in the order the forward pass produced them.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> Items => items;

    public Tensor this[string name] => items.First(kv => kv.Key == name).Value;

    public bool Contains(string name) => names.Contains(name);

    public void Dispose()
    {
        foreach (var (_, t) in items) t.Dispose();
        items.Clear();
        names.Clear();
    }
}

/// <summary>Glob patterns over capture-point names, as written in experiment files.</summary>
public static class PointPattern
{
    public static System.Text.RegularExpressions.Regex ToRegex(string pattern) =>
        new("^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant);
}
