using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Collects the internal tensors a forward pass exposes. Models call <see cref="Record"/> with a
/// <see cref="CapturePoint"/> made where the tensor is produced: its Hugging Face name (module path
/// <c>encoder.layer.0.attention.self.query</c>, <c>path#1</c> for a tuple item, output fields <c>hidden_states.3</c>,
/// <c>encoder_hidden_states.0</c>, <c>attentions.1</c>, <c>logits</c>, <c>last_hidden_state</c>; per attention module
/// also <c>path.scores</c> (pre-softmax, mask included), <c>path.position_bias</c> (T5) and <c>path.probs</c>), its
/// stack, block and kind. Only selected points are kept (as detached float32 CPU copies), so unselected points cost
/// nothing.
/// </summary>
public sealed class ActivationCapture : IDisposable
{
    private readonly Func<CapturePoint, bool> select;
    private readonly List<CapturedTensor> items = [];
    private readonly HashSet<string> names = new(StringComparer.Ordinal);

    private readonly Action<CapturePoint, Tensor>? sink;

    public ActivationCapture(Func<CapturePoint, bool> select) => this.select = select;

    /// <summary>
    /// A capture that hands every selected tensor to <paramref name="sink"/> as it is produced (a float32 CPU copy,
    /// disposed right after) instead of keeping it, so a forward pass can be stored layer by layer in bounded memory.
    /// </summary>
    public ActivationCapture(Func<CapturePoint, bool> select, Action<CapturePoint, Tensor> sink)
    {
        this.select = select;
        this.sink = sink;
    }

    /// <summary>How many tensors were recorded (kept or handed to the sink).</summary>
    public int RecordedCount => names.Count;

    /// <summary>Keeps everything (the Forward target and the fixture tests use this).</summary>
    public static ActivationCapture All() => new(_ => true);

    /// <summary>Keeps points whose names match any of the glob patterns (<c>*</c> matches any run of characters).</summary>
    public static ActivationCapture Matching(IEnumerable<string> patterns)
    {
        var regexes = patterns.Select(PointPattern.ToRegex).ToList();
        return new ActivationCapture(point => regexes.Any(r => r.IsMatch(point.Name)));
    }

    public bool Wants(CapturePoint point) => select(point);

    /// <summary>Records <paramref name="value"/> under <paramref name="point"/> if selected. Recording a name twice is a bug.</summary>
    public void Record(CapturePoint point, Tensor value)
    {
        if (!select(point)) return;
        if (!names.Add(point.Name)) throw new InvalidOperationException($"capture point '{point.Name}' recorded twice");
        // The copy belongs to this capture (disposed with it), not to whatever dispose scope the model opened.
        var copy = value.detach().to(ScalarType.Float32, CPU, copy: true).DetachFromDisposeScope();
        if (sink is null)
        {
            items.Add(new(point, copy));
            return;
        }
        using (copy) sink(point, copy);
    }

    /// <summary>Keeps <paramref name="value"/> itself (no copy) under <paramref name="point"/>: a capture rebuilt from storage.</summary>
    public void Adopt(CapturePoint point, Tensor value)
    {
        if (sink is not null) throw new InvalidOperationException("a streaming capture keeps nothing");
        if (!names.Add(point.Name)) throw new InvalidOperationException($"capture point '{point.Name}' recorded twice");
        items.Add(new(point, value.DetachFromDisposeScope()));
    }

    /// <summary>Captured points and tensors in the order the forward pass produced them.</summary>
    public IReadOnlyList<CapturedTensor> Captured => items;

    /// <summary>Captured tensors by name, in the order the forward pass produced them.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> Items => [.. items.Select(c => new KeyValuePair<string, Tensor>(c.Point.Name, c.Value))];

    public Tensor this[string name] => items.First(c => c.Point.Name == name).Value;

    public bool Contains(string name) => names.Contains(name);

    /// <summary>The tensor of kind <paramref name="kind"/> that belongs to <paramref name="path"/>, or null.</summary>
    public Tensor? Find(string path, CaptureKind kind) => items.FirstOrDefault(c => c.Point.Kind == kind && c.Point.Path == path)?.Value;

    public void Dispose()
    {
        foreach (var c in items) c.Value.Dispose();
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
