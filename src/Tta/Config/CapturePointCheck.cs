using System.Text.Json.Nodes;

namespace Tta.Config;

/// <summary>
/// Checks <c>extract.points</c> against the capture points a checkpoint can have, from its files alone (no model is
/// loaded), so a pattern that matches nothing stops the run before any stage writes. The names a checkpoint can
/// produce are a superset of the real ones, built without knowing the architecture:
/// <list type="bullet">
/// <item>output fields: <c>hidden_states.N</c> (also <c>encoder_</c>/<c>decoder_</c>), <c>attentions.N</c> (also
/// <c>encoder_</c>/<c>decoder_</c>/<c>cross_</c>), <c>logits</c>, <c>last_hidden_state</c>, …;</item>
/// <item>every module path that owns a weight (prefixes of the tensor names), followed optionally by one more name:
/// a parameter-free module (<c>intermediate_act_fn</c>, <c>rotary_emb</c>) or an attention quantity of the module
/// (<c>scores</c>, <c>probs</c>, <c>position_bias</c>); then optionally a tuple item (<c>#0</c>).</item>
/// </list>
/// A pattern may be wider than what the model captures (that is reported by Extract), never narrower.
/// </summary>
public static class CapturePointCheck
{
    private static readonly string[] OutputFields = ["logits", "last_hidden_state", "encoder_last_hidden_state", "pooler_output", "lm_head"];
    private static readonly string[] LayerFields = ["hidden_states", "attentions"];
    private static readonly string[] StackPrefixes = ["", "encoder_", "decoder_", "cross_"];

    /// <summary>
    /// Throws a <see cref="ConfigException"/> at the first pattern of <paramref name="e"/> that no capture point of the
    /// checkpoint in <paramref name="checkpointDir"/> can match. Does nothing when the weights' tensor names cannot be
    /// read without loading them (pytorch_model.bin).
    /// </summary>
    public static void Check(Experiment e, ModelSpec m, string checkpointDir, int layers)
    {
        var modules = ModulePaths(checkpointDir);
        if (modules is null) return;
        for (var i = 0; i < e.Extract.Points.Count; i++)
        {
            var pattern = e.Extract.Points[i];
            if (MayMatch(pattern, modules, layers)) continue;
            var at = e.Extract.PointsAt is { } spans && i < spans.Count ? spans[i] : new SourceSpan(e.SourcePath, 1, 1);
            var example = modules.Where(x => x.Count(c => c == '.') >= 2).DefaultIfEmpty(modules.FirstOrDefault() ?? "").First();
            throw new ConfigException(at,
                $"extract.points: '{pattern}' matches no capture point of model '{m.Key}' ({m.Id}) — use hidden_states.* " +
                $"(N = 0..{layers}), attentions.*, or module paths of the checkpoint such as {example}, {example}.* or *.probs");
        }
    }

    /// <summary>
    /// Whether <paramref name="pattern"/> can match a capture point of a checkpoint with these weight-owning
    /// <paramref name="modules"/> and <paramref name="layers"/> layers.
    /// </summary>
    public static bool MayMatch(string pattern, IReadOnlyList<string> modules, int layers)
    {
        var regex = Models.PointPattern.ToRegex(pattern);
        if (OutputFields.Any(regex.IsMatch)) return true;
        for (var n = 0; n <= layers; n++)
            foreach (var stack in StackPrefixes)
                foreach (var field in LayerFields)
                    if (regex.IsMatch($"{stack}{field}.{n}")) return true;
        return modules.Any(module => CanMatch(pattern, module));
    }

    /// <summary>Module paths that own a weight (every prefix of every tensor name), or null when they cannot be read.</summary>
    public static IReadOnlyList<string>? ModulePaths(string checkpointDir)
    {
        IEnumerable<string> tensors;
        var single = Path.Combine(checkpointDir, "model.safetensors");
        var index = Path.Combine(checkpointDir, "model.safetensors.index.json");
        try
        {
            if (File.Exists(single))
            {
                using var file = new Models.SafetensorsFile(single);
                tensors = file.Entries.Keys.ToList();
            }
            else if (File.Exists(index))
                tensors = (JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject() ?? []).Select(kv => kv.Key).ToList();
            else return null;
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException or InvalidOperationException or IOException)
        {
            return null; // unreadable weights are reported where they are loaded
        }
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in tensors)
        {
            var parts = name.Split('.');
            for (var k = 1; k < parts.Length; k++) paths.Add(string.Join('.', parts[..k]));
        }
        return paths.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Whether the glob <paramref name="pattern"/> (<c>*</c> any run, <c>?</c> any one character) matches some name
    /// <paramref name="module"/> + tail, the tail being optionally <c>.NAME</c> (no '.' or '#' in NAME), then
    /// optionally <c>#DIGITS</c>. Decided by a breadth-first search over pairs (pattern position, name-automaton
    /// state).
    /// </summary>
    public static bool CanMatch(string pattern, string module)
    {
        var automaton = new TailAutomaton(module);
        var seen = new HashSet<(int, int)>();
        var queue = new Queue<(int P, int S)>();
        void Push(int p, int s)
        {
            // '*' may match nothing: every state reached before a '*' is also reached after it.
            while (true)
            {
                if (!seen.Add((p, s))) return;
                queue.Enqueue((p, s));
                if (p < pattern.Length && pattern[p] == '*') p++;
                else return;
            }
        }
        Push(0, 0);
        while (queue.Count > 0)
        {
            var (p, s) = queue.Dequeue();
            if (p == pattern.Length)
            {
                if (automaton.Accepts(s)) return true;
                continue;
            }
            var c = pattern[p];
            foreach (var (label, next) in automaton.Moves(s))
            {
                var fits = c is '*' or '?' || label.Admits(c);
                if (!fits) continue;
                if (c == '*') Push(p, next); // '*' consumed a character and may go on
                else Push(p + 1, next);
            }
        }
        return false;
    }

    /// <summary>A transition label: one character, or any character but '.' and '#', or a digit.</summary>
    private readonly record struct Label(char Char, int Kind)
    {
        public static Label Exact(char c) => new(c, 0);
        public static readonly Label Segment = new('\0', 1);
        public static readonly Label Digit = new('\0', 2);

        public bool Admits(char c) => Kind switch
        {
            0 => c == Char,
            1 => c is not ('.' or '#'),
            _ => char.IsAsciiDigit(c),
        };
    }

    /// <summary>
    /// The names <c>module</c> + tail as an automaton. States: 0..n-1 inside the module path, n = the module itself
    /// (accepting), then n+1 after '.', n+2 inside a child name (accepting), n+3 after '#', n+4 inside the digits
    /// (accepting).
    /// </summary>
    private sealed class TailAutomaton
    {
        private readonly string module;
        private readonly int n;
        private readonly List<(int State, Label Label, int Next)> extra = [];
        private readonly HashSet<int> accepting;

        public TailAutomaton(string module)
        {
            this.module = module;
            n = module.Length;
            int Dot = n + 1, Child = n + 2, Hash = n + 3, Digits = n + 4;
            extra.Add((n, Label.Exact('.'), Dot));
            extra.Add((Dot, Label.Segment, Child));
            extra.Add((Child, Label.Segment, Child));
            extra.Add((n, Label.Exact('#'), Hash));
            extra.Add((Child, Label.Exact('#'), Hash));
            extra.Add((Hash, Label.Digit, Digits));
            extra.Add((Digits, Label.Digit, Digits));
            accepting = [n, Child, Digits];
        }

        public bool Accepts(int state) => accepting.Contains(state);

        public IEnumerable<(Label Label, int Next)> Moves(int state)
        {
            if (state < n) yield return (Label.Exact(module[state]), state + 1);
            foreach (var (s, label, next) in extra)
                if (s == state) yield return (label, next);
        }
    }
}
