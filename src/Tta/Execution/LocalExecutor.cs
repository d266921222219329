using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Tta.Cache;
using Tta.Core;
using Tta.Models;

namespace Tta.Execution;

/// <summary>
/// Runs units on this machine (an <see cref="IExecutor"/>): up to <see cref="RunContext.UnitSlots"/> at once (libtorch
/// units too: see <see cref="UnitResources.Torch"/>), on long-lived <see cref="UnitThreads"/>, each as soon as the units
/// it reads are committed (a computed unit's files are flushed and its manifest written on commit threads, while its
/// thread goes on), while the memory estimates of the running units and of the models they share stay within the budget
/// (<c>--memory-limit</c>, else available memory). A model is loaded once per process and serves every unit that
/// reads it (every text of that model), and is released when no unit of the run needs it any more. Each unit runs
/// under its <see cref="UnitLock"/> and is checked after taking it, so runs side by side build each unit once.
/// Output bytes do not depend on the order or the number of jobs.
/// </summary>
public sealed class LocalExecutor : IExecutor
{
    public IReadOnlyList<UnitOutcome> Run(UnitGraph graph, IReadOnlyList<StageUnit> units, RunContext context, RunOptions options)
    {
        var queue = new ReadyUnits(graph, units, unit => NeedsOf(unit, context));
        var running = new Dictionary<string, UnitResources>(StringComparer.Ordinal);
        var residentModels = new Dictionary<string, long>(StringComparer.Ordinal);
        var budget = context.MemoryLimitBytes ?? MemoryEstimate.Available() ?? long.MaxValue;
        long used = 0;
        var outcomes = new List<UnitOutcome>();
        using var ownDisplay = context.Progress is null ? new ProgressDisplay(context.Log, live: false) : null;
        var display = context.Progress ?? ownDisplay!;
        var failures = new List<(StageUnit Unit, ExceptionDispatchInfo Error)>();
        // Unit threads hand each computed and each finished unit straight to this loop (one wake-up, not a task
        // continuation and a second hop).
        using var ended = new BlockingCollection<(StageUnit Unit, UnitResources Needs, bool Computed, UnitOutcome? Outcome, ExceptionDispatchInfo? Error)>();
        var slots = context.UnitSlots;
        // A computed unit is committed (its files flushed to disk, then its manifest written) on these threads, so its
        // unit thread goes on to the next unit instead of waiting for the disk; it is done when its manifest is there.
        // Declared first, so they are disposed last: the unit threads end (handing over their commits) before these drain.
        using var committers = new UnitThreads(Math.Max(2, context.Jobs), "tta commit");
        using var threads = new UnitThreads(slots, "tta unit");
        var committing = 0;
        var profile = RunProfile.FromEnvironment();
        if (profile is not null) context.Torch.Observer = profile.TorchHeld;
        options.Tracker?.Begin(units);

        while (queue.Waiting > 0 || running.Count > 0 || committing > 0)
        {
            // Start ready units that fit, in graph order; stop starting new ones after a failure (unless told to keep
            // going). While a unit with a model (a forward pass) runs, units without one (a text's metrics) go first,
            // so the pipeline of a text keeps flowing beside the forward passes.
            // Commits waiting for the disk are bounded too: each holds its unit's locks (a slow shared filesystem).
            while ((failures.Count == 0 || options.KeepGoing) && running.Count < slots && committing < 4 * slots)
            {
                var modelRunning = running.Values.Any(r => r.ModelKey is not null);
                var next = queue.Take((unit, needs) =>
                {
                    var modelCost = needs.ModelKey is { } key && !residentModels.ContainsKey(key) ? needs.ModelBytes : 0;
                    return running.Count == 0 || used + needs.WorkingBytes + modelCost <= budget;
                }, preferWithoutModel: modelRunning);
                if (next is not { } found) break;
                var (unit, needs) = found;
                var cost = needs.ModelKey is { } k && !residentModels.ContainsKey(k) ? needs.ModelBytes : 0;
                if (needs.ModelKey is { } model && cost > 0) residentModels[model] = cost;
                used += needs.WorkingBytes + cost;
                running[unit.Id] = needs;
                profile?.Starting();
                threads.Run(() =>
                {
                    try
                    {
                        var (outcome, built) = RunOne(graph, unit, needs, context, options, display, profile);
                        if (built is null)
                        {
                            ended.Add((unit, needs, false, outcome, null));
                            return;
                        }
                        ended.Add((unit, needs, true, null, null));
                        // The commit threads outlive the unit threads (disposed after them), so this hand-over always lands.
                        committers.Run(() =>
                        {
                            try { ended.Add((unit, needs, false, Commit(built, outcome, context, options), null)); }
                            catch (Exception e) { ended.Add((unit, needs, false, null, ExceptionDispatchInfo.Capture(e))); }
                        });
                    }
                    catch (Exception e) { ended.Add((unit, needs, false, null, ExceptionDispatchInfo.Capture(e))); }
                });
            }
            if (running.Count == 0 && committing == 0) break; // a failure stopped the rest, or what is left waits for a unit that failed
            var finished = ended.Take();
            if (running.Remove(finished.Unit.Id)) used -= finished.Needs.WorkingBytes;
            else committing--;
            if (finished.Computed)
            {
                // Its thread and its working memory are free; it is done (its readers may start) once committed.
                committing++;
                continue;
            }
            if (finished.Error is { } error)
            {
                failures.Add((finished.Unit, error));
                options.Tracker?.Failed(finished.Unit);
            }
            else
            {
                outcomes.Add(finished.Outcome!);
                queue.Done(finished.Unit);
            }
            // A model no other unit of this run needs is released. Units that share a model read the same upstream
            // unit (its checkpoint), so they all became ready, and told what they need, together.
            if (queue.Finished(finished.Needs) is { } unused)
            {
                context.Release(unused);
                if (residentModels.Remove(unused, out var bytes)) used -= bytes;
            }
        }
        profile?.Write();
        if (failures.Count > 0)
        {
            // The first failure's message is the error the caller prints; printed here too, it would show twice.
            foreach (var (unit, error) in failures)
                context.Log.WriteLine(unit == failures[0].Unit ? $"{unit.Stage} {unit.Key}: failed" : $"{unit.Stage} {unit.Key}: failed — {error.SourceException.Message}");
            failures[0].Error.Throw();
        }
        return outcomes;
    }

    /// <summary>What a unit needs to run (memory, libtorch, a GPU), as the executors size it.</summary>
    internal static UnitResources NeedsOf(StageUnit unit, RunContext context)
    {
        try { return unit.Resources(context); }
        catch (MissingInputException) { return UnitResources.Small; } // not buildable yet: it fails with the reason when run
    }

    /// <summary>
    /// Checks and, when stale, builds one unit under its lock: an up-to-date unit's outcome, or the built unit still
    /// to commit (<see cref="Commit"/>), which then holds the lock.
    /// </summary>
    private static (UnitOutcome Outcome, PendingCommit? Built) RunOne(UnitGraph graph, StageUnit unit, UnitResources needs, RunContext context,
        RunOptions options, IProgressDisplay display, RunProfile? profile)
    {
        var start = Stopwatch.GetTimestamp();
        var unitLock = UnitLock.Acquire(context.Workspace.CacheDir, unit, graph.UpstreamOf(unit), context.Log);
        try
        {
            var status = options.Forced(unit) ? new UnitStatus(unit, false, ["forced"]) : StageRunner.Check(unit, context.Workspace, options.Verify, context.HashLog);
            if (status.UpToDate)
            {
                context.Log.WriteLine($"{unit.Stage} {unit.Key}: up to date");
                options.Tracker?.Done(unit, didRun: false);
                unitLock.Dispose();
                return (new UnitOutcome(unit, false, 0), null);
            }
            if (options.Explain || options.Verify) context.Log.WriteLine($"{unit.Stage} {unit.Key}: stale — {string.Join("; ", status.Reasons)}");
            if (needs.Torch) TorchThreads.Configure();
            var watch = Stopwatch.StartNew();
            var progress = new UnitProgress(unit);
            display.Started(progress);
            options.Tracker?.Started(unit);
            BuiltUnit built;
            try
            {
                built = StageRunner.Build(unit, context.ForUnit(progress, torchForWholeRun: needs.Torch && !needs.TorchSections));
            }
            finally
            {
                display.Finished(progress);
            }
            profile?.Unit(unit.Stage, unit.Key, start, Stopwatch.GetTimestamp());
            return (new UnitOutcome(unit, true, watch.Elapsed.TotalSeconds), new PendingCommit(built, unitLock));
        }
        catch
        {
            unitLock.Dispose();
            throw;
        }
    }

    /// <summary>Commits a built unit (its files to disk, then its manifest) and lets its lock go.</summary>
    private static UnitOutcome Commit(PendingCommit pending, UnitOutcome outcome, RunContext context, RunOptions options)
    {
        using (pending.Lock) pending.Built.Commit();
        var unit = pending.Built.Unit;
        context.Log.WriteLine($"{unit.Stage} {unit.Key}: done in {outcome.Seconds:0.00} s");
        options.Tracker?.Done(unit, didRun: true);
        return outcome;
    }

    private sealed record PendingCommit(BuiltUnit Built, UnitLock Lock);
}
