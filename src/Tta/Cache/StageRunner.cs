using System.Diagnostics;
using Tta.Core;

namespace Tta.Cache;

/// <summary>Decides staleness and runs units, writing each manifest last, after what the unit wrote is on disk.</summary>
public static class StageRunner
{
    /// <summary>
    /// Whether <paramref name="unit"/> is up to date. Outputs whose size and modification time are as recorded are
    /// taken as unchanged (as make and DVC do); <paramref name="verify"/> re-hashes every output instead, and a unit
    /// whose outputs differ from their recorded hashes is marked in its manifest, so a later run rebuilds it. Files
    /// read to hash them are reported to <paramref name="hashLog"/>.
    /// </summary>
    public static UnitStatus Check(StageUnit unit, Workspace ws, bool verify = false, IHashLog? hashLog = null)
    {
        StageFingerprint fp;
        try { fp = unit.Fingerprint(); }
        catch (MissingInputException e) { return new UnitStatus(unit, false, [e.Message]); }
        var manifest = UnitManifest.Read(unit.ManifestPath, out var problem);
        if (manifest is null) return new UnitStatus(unit, false, [problem is null ? "never built (no manifest)" : $"{problem}; rebuilding it"]);
        var reasons = new List<string>();
        if (manifest.Invalid is { } invalid) reasons.Add(invalid);
        if (manifest.Fingerprint != fp.Value)
        {
            foreach (var (k, v) in fp.Components)
                if (!manifest.Components.TryGetValue(k, out var old)) reasons.Add($"{k} is new");
                else if (old != v) reasons.Add($"{k} changed");
            foreach (var k in manifest.Components.Keys.Where(k => !fp.Components.ContainsKey(k))) reasons.Add($"{k} removed");
            if (reasons.Count == 0) reasons.Add("fingerprint changed");
        }
        reasons.AddRange(FolderChanges(manifest, ws));
        reasons.AddRange(AddedOutputs(unit, manifest, ws));
        var damaged = new List<string>();
        foreach (var o in manifest.Outputs)
        {
            var path = ws.Absolute(o.Path);
            var stamp = ContentHash.Stamp(path);
            if (stamp.Bytes < 0) { reasons.Add($"output {o.Path} is missing"); continue; }
            if (!verify && stamp.Bytes == o.Bytes && stamp.MtimeTicks == o.MtimeTicks) continue;
            if (stamp.Bytes != o.Bytes) damaged.Add($"output {o.Path} was modified ({stamp.Bytes} bytes, {o.Bytes} recorded)");
            else if ((verify ? ContentHash.Sha256Fresh(path, hashLog) : ContentHash.Sha256(path, hashLog)) != o.Sha256)
                damaged.Add($"output {o.Path} was modified (its sha256 differs from the one recorded)");
        }
        reasons.AddRange(damaged);
        if (verify && damaged.Count > 0 && manifest.Invalid is null)
            MarkInvalid(unit.ManifestPath, manifest, string.Join("; ", damaged));
        return new UnitStatus(unit, reasons.Count == 0, reasons);
    }

    /// <summary>Records in a unit's manifest that its outputs were found changed, so every later run rebuilds it.</summary>
    public static void MarkInvalid(string manifestPath, UnitManifest manifest, string why) =>
        (manifest with { Invalid = $"verification found: {why}" }).Write(manifestPath);

    /// <summary>A cache or figures folder other than the one the unit's outputs were written to (--cache, --figures).</summary>
    private static IEnumerable<string> FolderChanges(UnitManifest manifest, Workspace ws)
    {
        var recorded = manifest.Folders ?? ManifestFolders.Default;
        var current = ManifestFolders.Of(ws);
        foreach (var (what, was, now) in new[] { ("figures", recorded.Figures, current.Figures), ("cache", recorded.Cache, current.Cache) })
        {
            if (was == now) continue;
            var old = ws.Absolute(was);
            if (manifest.Outputs.Any(o => Workspace.IsUnder(ws.Absolute(o.Path), old)))
                yield return $"the {what} folder is now {now} (it was {was} when the unit was built)";
        }
    }

    /// <summary>Files the unit would record now that its manifest does not list (see <see cref="StageUnit.CurrentOutputs"/>).</summary>
    private static IEnumerable<string> AddedOutputs(StageUnit unit, UnitManifest manifest, Workspace ws)
    {
        if (unit.CurrentOutputs() is not { } current) return [];
        var recorded = manifest.Outputs.Select(o => o.Path).ToHashSet(StringComparer.Ordinal);
        return current.Select(ws.Relative).Where(p => !recorded.Contains(p)).Select(p => $"output {p} was added since the unit was built");
    }

    /// <summary>Builds <paramref name="unit"/> and commits it (<see cref="Build"/>, then <see cref="Commit"/>).</summary>
    public static UnitManifest Run(StageUnit unit, RunContext context)
    {
        var built = Build(unit, context);
        built.Commit();
        return built.Manifest;
    }

    /// <summary>
    /// Runs <paramref name="unit"/> and hashes its outputs, leaving the disk flush of what it wrote and its manifest to
    /// <see cref="BuiltUnit.Commit"/> (the local executor does that on a thread of its own, so the unit's core goes on
    /// to the next unit). Until the commit the unit is not built: it has no valid manifest.
    /// </summary>
    public static BuiltUnit Build(StageUnit unit, RunContext context)
    {
        var fp = unit.Fingerprint();
        // From here until the new manifest is written the unit counts as stale. The old one stays, marked, so Clean
        // still knows which files the unit wrote if this run dies.
        if (UnitManifest.Read(unit.ManifestPath, out var problem) is { } old)
            (old with { Invalid = "a run of this unit started and did not finish" }).Write(unit.ManifestPath);
        else if (problem is not null) File.Delete(unit.ManifestPath);
        var watch = Stopwatch.StartNew();
        IReadOnlyList<string> outputs;
        var written = DeferredFlush.Begin();
        using (written)
        using (context.TorchForWholeRun ? context.Torch.Enter() : null)
            outputs = unit.Run(context);
        var records = outputs.Select(p =>
        {
            // The file itself, not a link to it; a hash this process verified (a download, a conversion) is reused.
            var stamp = ContentHash.Stamp(p);
            return new OutputRecord(context.Workspace.Relative(p), ContentHash.Sha256(p, context.HashLog), stamp.Bytes, stamp.MtimeTicks);
        }).ToList();
        var manifest = new UnitManifest(unit.Stage, unit.Key, fp.Value, fp.Components, records,
            Math.Round(watch.Elapsed.TotalSeconds, 3), unit.Facts(records), ManifestFolders.Of(context.Workspace));
        return new BuiltUnit(unit, manifest, written);
    }

    /// <summary>
    /// The manifest of an upstream unit, or <see cref="MissingInputException"/> (the downstream unit is stale) when
    /// it has not been built, is not a valid manifest, or was found changed.
    /// </summary>
    public static UnitManifest Upstream(string manifestPath, string what)
    {
        var manifest = UnitManifest.Read(manifestPath, out var problem);
        if (manifest is null) throw new MissingInputException(problem is null ? $"{what} is not built yet" : $"{what} must be rebuilt: {problem}");
        if (manifest.Invalid is { } invalid) throw new MissingInputException($"{what} must be rebuilt: {invalid}");
        return manifest;
    }
}

/// <summary>
/// A unit that has run and whose outputs are hashed, but not yet committed: <see cref="Commit"/> flushes every file it
/// wrote to disk, then writes its manifest, so no manifest on disk ever vouches for files that are not.
/// </summary>
public sealed class BuiltUnit(StageUnit unit, UnitManifest manifest, DeferredFlush written)
{
    public StageUnit Unit => unit;

    public UnitManifest Manifest => manifest;

    public void Commit()
    {
        written.FlushAll();
        manifest.Write(unit.ManifestPath);
    }
}
