using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Opens a Hugging Face checkpoint directory (config.json plus weights as model.safetensors, a sharded
/// model.safetensors.index.json, pytorch_model.bin or a sharded pytorch_model.bin.index.json, in that preference) and
/// copies its tensors into a module whose parameter names equal the checkpoint keys, straight from the files into the
/// parameters' storage (see <see cref="StoredTensor"/>).
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly List<IDisposable> files = [];
    private readonly Dictionary<string, StoredTensor> byName = new(StringComparer.Ordinal);

    public string Directory { get; }
    public JsonObject Config { get; }
    /// <summary>The weight file (or index) the tensors come from.</summary>
    public string WeightsFile { get; }

    public static readonly IReadOnlyList<string> WeightFileNames =
        ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

    public Checkpoint(string directory)
    {
        Directory = directory;
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{directory}: no config.json (not a Hugging Face checkpoint directory)");
        Config = JsonNode.Parse(File.ReadAllText(configPath))?.AsObject()
            ?? throw new InvalidDataException($"{configPath}: not a JSON object");
        WeightsFile = WeightFileNames.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{directory}: no weights (looked for {string.Join(", ", WeightFileNames)})");
        try
        {
            if (WeightsFile.EndsWith(".index.json", StringComparison.Ordinal))
            {
                var map = JsonNode.Parse(File.ReadAllText(WeightsFile))?["weight_map"]?.AsObject()
                    ?? throw new InvalidDataException($"{WeightsFile}: no weight_map");
                foreach (var shard in map.Select(kv => kv.Value!.GetValue<string>()).Distinct().Order(StringComparer.Ordinal))
                {
                    var shardPath = Path.GetFullPath(Path.Combine(directory, shard));
                    if (Path.GetDirectoryName(shardPath) != Path.GetFullPath(directory))
                        throw new InvalidDataException($"{WeightsFile}: shard '{shard}' lies outside the checkpoint directory");
                    Open(shardPath);
                }
                var missing = map.Where(kv => !byName.ContainsKey(kv.Key)).Select(kv => $"{kv.Key} (in {kv.Value})").Take(10).ToList();
                if (missing.Count > 0)
                    throw new InvalidDataException($"{WeightsFile}: the index names tensors its shards lack: {string.Join(", ", missing)}");
            }
            else Open(WeightsFile);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Open(string path)
    {
        IReadOnlyDictionary<string, StoredTensor> tensors;
        if (path.EndsWith(".safetensors", StringComparison.Ordinal))
        {
            var f = new SafetensorsFile(path);
            files.Add(f);
            tensors = f.Tensors;
        }
        else
        {
            var f = new TorchCheckpointFile(path);
            files.Add(f);
            tensors = f.Tensors;
        }
        foreach (var (name, t) in tensors) byName[name] = t;
    }

    public IEnumerable<string> TensorNames => byName.Keys;

    public bool Contains(string name) => byName.ContainsKey(name);

    public StoredTensor Entry(string name) => byName.TryGetValue(name, out var t)
        ? t : throw new KeyNotFoundException($"{Directory}: checkpoint has no tensor '{name}'");

    public Tensor Load(string name, ScalarType? dtype = null) => Entry(name).Load(dtype);

    /// <summary>
    /// Copies every parameter and persistent buffer of <paramref name="module"/> from the checkpoint.
    /// <paramref name="keyFor"/> maps a parameter name to its checkpoint key (identity for most models; null skips
    /// the parameter, e.g. a tied weight the caller re-ties). Missing or misshaped tensors raise one error that lists
    /// expected against found names; checkpoint tensors no parameter used are reported only if <paramref name="strict"/>.
    /// </summary>
    public void LoadInto(nn.Module module, Func<string, string?>? keyFor = null, bool strict = false)
    {
        keyFor ??= n => n;
        var problems = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var reads = new List<(StoredTensor Entry, Tensor Target)>();
        using var _ = no_grad();
        foreach (var (name, target) in module.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
                     .Concat(module.named_buffers().Select(b => (b.name, b.buffer))))
        {
            var key = keyFor(name);
            if (key is null) continue;
            if (!byName.ContainsKey(key)) { problems.Add($"missing: {key} (expected shape [{string.Join(", ", target.shape)}])"); continue; }
            var entry = Entry(key);
            used.Add(key); // matched by name (a misshaped one is reported as such, not as unused)
            if (!entry.Shape.SequenceEqual(target.shape))
            {
                problems.Add($"misshaped: {key} is [{string.Join(", ", entry.Shape)}], model expects [{string.Join(", ", target.shape)}]");
                continue;
            }
            reads.Add((entry, target));
        }
        var unused = byName.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (strict)
            foreach (var extra in unused)
                problems.Add($"unexpected: {extra}");
        if (problems.Count > 0)
        {
            // Checked before reading anything, so a mismatched checkpoint fails at once.
            var sb = new StringBuilder();
            sb.AppendLine($"{Directory}: checkpoint does not match the {module.GetName()} model ({problems.Count} problem(s)):");
            foreach (var p in problems.Take(50)) sb.AppendLine("  " + p);
            if (problems.Count > 50) sb.AppendLine($"  … and {problems.Count - 50} more");
            if (!strict && unused.Count > 0)
                sb.AppendLine($"checkpoint tensors the model did not use: {string.Join(", ", unused.Take(20))}{(unused.Count > 20 ? ", …" : "")}");
            sb.Append("found tensors: " + string.Join(", ", byName.Keys.Order(StringComparer.Ordinal).Take(20)) + (byName.Count > 20 ? $", … ({byName.Count} in all)" : ""));
            throw new InvalidDataException(sb.ToString());
        }
        // File bytes straight into each parameter's storage (converted chunk-wise if needed); a few tensors at a time,
        // since one thread copying out of the page cache and faulting in fresh pages does not saturate memory.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount, 1, 4) };
        try
        {
            Parallel.ForEach(reads.OrderByDescending(r => r.Entry.ElementCount), parallel, r => r.Entry.ReadInto(r.Target));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    public void Dispose()
    {
        foreach (var f in files) f.Dispose();
    }
}

/// <summary>Reads typed fields of a config.json with clear errors.</summary>
public static class ConfigJson
{
    public static int Int(this JsonObject c, string key) =>
        c[key]?.GetValue<int>() ?? throw new InvalidDataException($"config.json: missing '{key}'");

    public static int Int(this JsonObject c, string key, int fallback) =>
        c[key] is JsonValue v && v.TryGetValue<int>(out var x) ? x : fallback;

    public static double Double(this JsonObject c, string key, double fallback) =>
        c[key] is JsonValue v ? v.GetValue<double>() : fallback;

    public static string Str(this JsonObject c, string key, string fallback) =>
        c[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : fallback;

    public static bool Bool(this JsonObject c, string key, bool fallback) =>
        c[key] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : fallback;

    public static string ToIndentedJson(this JsonNode n) => n.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
