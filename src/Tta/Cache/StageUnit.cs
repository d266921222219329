using System.Diagnostics;
using Tta.Config;

namespace Tta.Cache;

/// <summary>Everything a run needs: where to read and write, which experiments, and how to report.</summary>
public sealed class RunContext(Workspace workspace, IReadOnlyList<Experiment> experiments, TextWriter log)
{
    public Workspace Workspace { get; } = workspace;
    public IReadOnlyList<Experiment> Experiments { get; } = experiments;
    public TextWriter Log { get; } = log;

    /// <summary>Memory to treat as available when deciding whether a model fits (--memory-limit); null = what the OS says.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Threads that render figures at the same time (--jobs); all cores by default.</summary>
    public int Jobs { get; init; } = Environment.ProcessorCount;

    /// <summary>Objects worth keeping across units of one process (loaded models, tokenizers).</summary>
    public Dictionary<string, object> Shared { get; } = [];

    /// <summary>The object kept under <paramref name="key"/>, created on first use.</summary>
    public T Keep<T>(string key, Func<T> create) where T : notnull
    {
        if (!Shared.TryGetValue(key, out var value)) Shared[key] = value = create();
        return (T)value;
    }
}

/// <summary>A unit's input is not built yet (its upstream stage has not run): the unit is stale.</summary>
public sealed class MissingInputException(string message) : Exception(message);

/// <summary>
/// One unit of a stage (one model for Download, one model × text for Extract, …). A unit declares its fingerprint and
/// writes its outputs; <see cref="StageRunner"/> decides whether it is up to date and records its manifest.
/// </summary>
public abstract class StageUnit
{
    public abstract string Stage { get; }

    /// <summary>Identifies the unit within its stage, e.g. <c>default/minilm/prose</c>.</summary>
    public abstract string Key { get; }

    public abstract string ManifestPath { get; }

    /// <summary>Computes the fingerprint (cheap: hashes of texts and upstream manifests, never of big files twice).</summary>
    public abstract StageFingerprint Fingerprint();

    /// <summary>Writes the outputs (each atomically) and returns their absolute paths.</summary>
    public abstract IReadOnlyList<string> Run(RunContext context);

    /// <summary>Whether the unit may run at the same time as its stage's other such units (it reads none of their outputs).</summary>
    public virtual bool RunsAlongside => false;

    /// <summary>Facts downstream units read from the manifest (e.g. the checkpoint directory).</summary>
    public virtual IReadOnlyDictionary<string, string>? Facts(IReadOnlyList<OutputRecord> outputs) => null;
}

/// <summary>Whether a unit can be skipped, and if not, why.</summary>
public sealed record UnitStatus(StageUnit Unit, bool UpToDate, IReadOnlyList<string> Reasons);

/// <summary>Decides staleness and runs units, writing each manifest last.</summary>
public static class StageRunner
{
    public static UnitStatus Check(StageUnit unit, Workspace ws)
    {
        StageFingerprint fp;
        try { fp = unit.Fingerprint(); }
        catch (MissingInputException e) { return new UnitStatus(unit, false, [e.Message]); }
        var manifest = UnitManifest.TryRead(unit.ManifestPath);
        if (manifest is null) return new UnitStatus(unit, false, ["never built (no manifest)"]);
        var reasons = new List<string>();
        if (manifest.Fingerprint != fp.Value)
        {
            foreach (var (k, v) in fp.Components)
                if (!manifest.Components.TryGetValue(k, out var old)) reasons.Add($"{k} is new");
                else if (old != v) reasons.Add($"{k} changed");
            foreach (var k in manifest.Components.Keys.Where(k => !fp.Components.ContainsKey(k))) reasons.Add($"{k} removed");
            if (reasons.Count == 0) reasons.Add("fingerprint changed");
        }
        foreach (var o in manifest.Outputs)
        {
            var path = ws.Absolute(o.Path);
            var info = new FileInfo(path);
            if (!info.Exists) { reasons.Add($"output {o.Path} is missing"); continue; }
            if (info.Length == o.Bytes && info.LastWriteTimeUtc.Ticks == o.MtimeTicks) continue;
            if (info.Length != o.Bytes || Hashing.Sha256File(path) != o.Sha256) reasons.Add($"output {o.Path} was modified");
        }
        return new UnitStatus(unit, reasons.Count == 0, reasons);
    }

    public static UnitManifest Run(StageUnit unit, RunContext context)
    {
        var fp = unit.Fingerprint();
        // The old manifest goes first: from here until the new one is written the unit counts as stale.
        if (File.Exists(unit.ManifestPath)) File.Delete(unit.ManifestPath);
        var watch = Stopwatch.StartNew();
        var outputs = unit.Run(context);
        var records = outputs.Select(p =>
        {
            var info = new FileInfo(p);
            return new OutputRecord(context.Workspace.Relative(p), Hashing.Sha256File(p), info.Length, info.LastWriteTimeUtc.Ticks);
        }).ToList();
        var manifest = new UnitManifest(unit.Stage, unit.Key, fp.Value, fp.Components, records,
            Math.Round(watch.Elapsed.TotalSeconds, 3), unit.Facts(records));
        manifest.Write(unit.ManifestPath);
        return manifest;
    }

    /// <summary>The manifest of an upstream unit, or <see cref="MissingInputException"/> if it has not been built.</summary>
    public static UnitManifest Upstream(string manifestPath, string what) =>
        UnitManifest.TryRead(manifestPath) ?? throw new MissingInputException($"{what} is not built yet");
}
