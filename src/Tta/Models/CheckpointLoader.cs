using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using Tta.Core;
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

    private readonly IUnitProgress? progress;

    /// <param name="progress">Where <see cref="LoadInto"/> reports the bytes it reads, or null.</param>
    public Checkpoint(string directory, IUnitProgress? progress = null)
    {
        this.progress = progress;
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

    private readonly HashSet<string> loaded = new(StringComparer.Ordinal);

    /// <summary>Checkpoint tensors no <see cref="LoadInto"/> call has read (so far).</summary>
    public IReadOnlyList<string> UnusedTensorNames => [.. byName.Keys.Where(k => !loaded.Contains(k)).Order(StringComparer.Ordinal)];

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
        loaded.UnionWith(used);
        // A tensor stored in the parameter's dtype becomes a view of the mapped file (no copy: the weights are in
        // memory once); the others are read and converted into the parameter's storage.
        var mapped = new List<(StoredTensor Entry, Tensor Target)>();
        var copied = new List<(StoredTensor Entry, Tensor Target)>();
        foreach (var r in reads)
        {
            if (r.Target.device_type == DeviceType.CPU && r.Target.dtype == r.Entry.DType && r.Entry.MapView() is { } view)
            {
                using (view) r.Target.set_(view);
                mapped.Add(r);
            }
            else copied.Add(r);
        }
        progress?.LoadingBytes(reads.Sum(r => r.Entry.SpanBytes));
        // Then the pages are read in, in pieces on a few threads (one faulting thread leaves the disk and the page
        // cache idle between requests), so the load ends with the weights in memory.
        var pieces = System.Collections.Concurrent.Partitioner.Create(
            mapped.SelectMany(r => Pieces(r.Entry, NativeTensor.FirstElement(r.Target))), System.Collections.Concurrent.EnumerablePartitionerOptions.NoBuffering);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = ReadThreads };
        try
        {
            Parallel.ForEach(pieces, parallel, p =>
            {
                MappedFile.Prefault(p.Start, p.Bytes, p.Entry.File);
                progress?.Loaded(p.Bytes);
            });
            Parallel.ForEach(copied.OrderByDescending(r => r.Entry.ElementCount), parallel, r =>
            {
                r.Entry.ReadInto(r.Target);
                progress?.Loaded(r.Entry.SpanBytes);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>Threads reading weights: enough to keep a disk's queue and the page cache busy, measured on 2 cores.</summary>
    private static int ReadThreads => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Bytes one prefault call covers: small enough to spread a shard over the threads and report progress.</summary>
    private const long PieceBytes = 64L << 20;

    private static IEnumerable<(StoredTensor Entry, nint Start, long Bytes)> Pieces(StoredTensor entry, nint start)
    {
        var bytes = entry.SpanBytes;
        for (long at = 0; at < bytes; at += PieceBytes) yield return (entry, start + (nint)at, Math.Min(PieceBytes, bytes - at));
    }

    public void Dispose()
    {
        foreach (var f in files) f.Dispose();
    }
}

/// <summary>
/// A config.json value that is missing, of the wrong type or out of range; the message names the key (callers that
/// know the file prefix its path, see <see cref="ConfigJson.Checked{T}"/>).
/// </summary>
public sealed class ConfigValueException(string message) : FormatException(message);

/// <summary>
/// Reads typed fields of a config.json with clear errors: a key that is present (and not null) but holds the wrong
/// type or an out-of-range value is an error naming the key, never silently replaced by the fallback.
/// </summary>
public static class ConfigJson
{
    private static JsonValue? Present(JsonObject c, string key) => c[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        JsonValue v => v,
        var other => throw new ConfigValueException($"'{key}' is {other.ToJsonString()}; expected a single value"),
    };

    /// <summary>A JSON number's value (parsed or built in code), else null.</summary>
    private static double? Number(JsonValue v) =>
        v.GetValueKind() == JsonValueKind.Number
        && double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
            ? d : null;

    private static int ParseInt(JsonValue v, string key, int min)
    {
        if (Number(v) is { } d && d == Math.Floor(d) && d >= min && d <= int.MaxValue)
            return (int)d;
        var what = min > 0 ? "a positive integer" : min == 0 ? "a non-negative integer" : "an integer";
        throw new ConfigValueException($"'{key}' is {v.ToJsonString()}; expected {what} of at most {int.MaxValue}");
    }

    /// <summary>A required integer.</summary>
    public static int Int(this JsonObject c, string key) =>
        Present(c, key) is { } v ? ParseInt(v, key, int.MinValue) : throw new ConfigValueException($"'{key}' is missing");

    /// <summary>An optional integer (<paramref name="fallback"/> when absent or null).</summary>
    public static int Int(this JsonObject c, string key, int fallback) =>
        Present(c, key) is { } v ? ParseInt(v, key, int.MinValue) : fallback;

    /// <summary>A required size (a count or dimension): an integer of at least 1.</summary>
    public static int Size(this JsonObject c, string key) =>
        Present(c, key) is { } v ? ParseInt(v, key, 1) : throw new ConfigValueException($"'{key}' is missing");

    /// <summary>An optional size: an integer of at least 1, <paramref name="fallback"/> when absent or null.</summary>
    public static int Size(this JsonObject c, string key, int fallback) =>
        Present(c, key) is { } v ? ParseInt(v, key, 1) : fallback;

    /// <summary>The first size present among aliases (old and new Hugging Face names); required.</summary>
    public static int SizeAny(this JsonObject c, params string[] keys) =>
        SizeOrNull(c, keys) ?? throw new ConfigValueException($"'{keys[0]}' is missing");

    /// <summary>The first size present among aliases, or null.</summary>
    public static int? SizeOrNull(this JsonObject c, params string[] keys)
    {
        foreach (var k in keys)
            if (Present(c, k) is { } v) return ParseInt(v, k, 1);
        return null;
    }

    public static double Double(this JsonObject c, string key, double fallback)
    {
        if (Present(c, key) is not { } v) return fallback;
        return Number(v) is { } d && double.IsFinite(d) ? d : throw new ConfigValueException($"'{key}' is {v.ToJsonString()}; expected a number");
    }

    public static string Str(this JsonObject c, string key, string fallback)
    {
        if (Present(c, key) is not { } v) return fallback;
        return v.TryGetValue<string>(out var s) ? s : throw new ConfigValueException($"'{key}' is {v.ToJsonString()}; expected a string");
    }

    public static bool Bool(this JsonObject c, string key, bool fallback)
    {
        if (Present(c, key) is not { } v) return fallback;
        return v.TryGetValue<bool>(out var b) ? b : throw new ConfigValueException($"'{key}' is {v.ToJsonString()}; expected true or false");
    }

    /// <summary>
    /// Runs <paramref name="read"/> over the config of checkpoint <paramref name="directory"/>, turning a bad value into
    /// an error that names the file and the key.
    /// </summary>
    public static T Checked<T>(string directory, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ConfigValueException e)
        {
            throw new InvalidDataException($"{Path.Combine(directory, "config.json")}: {e.Message} — correct that value in config.json");
        }
    }

    public static string ToIndentedJson(this JsonNode n) => n.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
