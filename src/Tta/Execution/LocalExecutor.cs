using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Tta.Cache;
using Tta.Core;
using Tta.Models;

namespace Tta.Execution;

/// <summary>
/// Runs units on this machine (an <see cref="IExecutor"/>): up to <see cref="RunContext.Jobs"/> at once (libtorch
/// units too: see <see cref="UnitResources.Torch"/>), on long-lived <see cref="UnitThreads"/>, each as soon as the units it reads are done, while the memory estimates of the running units and of the models they share stay within the budget
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
        // Unit threads hand each finished unit straight to this loop (one wake-up, not a task continuation and a second hop).
        using var ended = new BlockingCollection<(StageUnit Unit, UnitResources Needs, UnitOutcome? Outcome, ExceptionDispatchInfo? Error)>();
        using var threads = new UnitThreads(context.Jobs);
        var profile = RunProfile.FromEnvironment();
        if (profile is not null) context.Torch.Observer = profile.TorchHeld;
        options.Tracker?.Begin(units);

        while (queue.Waiting > 0 || running.Count > 0)
        {
            // Start ready units that fit, in graph order; stop starting new ones after a failure (unless told to keep
            // going). While a unit with a model (a forward pass) runs, units without one (a text's metrics) go first,
            // so the pipeline of a text keeps flowing beside the forward passes.
            while ((failures.Count == 0 || options.KeepGoing) && running.Count < context.Jobs)
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
                    try { ended.Add((unit, needs, RunOne(graph, unit, needs, context, options, display, profile), null)); }
                    catch (Exception e) { ended.Add((unit, needs, null, ExceptionDispatchInfo.Capture(e))); }
                });
            }
            if (running.Count == 0) break; // a failure stopped the rest, or what is left waits for a unit that failed
            var finished = ended.Take();
            running.Remove(finished.Unit.Id);
            used -= finished.Needs.WorkingBytes;
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

    private static UnitOutcome RunOne(UnitGraph graph, StageUnit unit, UnitResources needs, RunContext context, RunOptions options,
        IProgressDisplay display, RunProfile? profile)
    {
        var start = Stopwatch.GetTimestamp();
        using var unitLock = UnitLock.Acquire(context.Workspace.CacheDir, unit, graph.UpstreamOf(unit), context.Log);
        var status = options.Forced(unit) ? new UnitStatus(unit, false, ["forced"]) : StageRunner.Check(unit, context.Workspace, options.Verify, context.HashLog);
        if (status.UpToDate)
        {
            context.Log.WriteLine($"{unit.Stage} {unit.Key}: up to date");
            options.Tracker?.Done(unit, didRun: false);
            return new UnitOutcome(unit, false, 0);
        }
        if (options.Explain || options.Verify) context.Log.WriteLine($"{unit.Stage} {unit.Key}: stale — {string.Join("; ", status.Reasons)}");
        if (needs.Torch) TorchThreads.Configure();
        var watch = Stopwatch.StartNew();
        var progress = new UnitProgress(unit);
        display.Started(progress);
        options.Tracker?.Started(unit);
        try
        {
            StageRunner.Run(unit, context.ForUnit(progress, torchForWholeRun: needs.Torch && !needs.TorchSections));
        }
        finally
        {
            display.Finished(progress);
        }
        var seconds = watch.Elapsed.TotalSeconds;
        profile?.Unit(unit.Stage, start, Stopwatch.GetTimestamp());
        context.Log.WriteLine($"{unit.Stage} {unit.Key}: done in {seconds:0.00} s");
        options.Tracker?.Done(unit, didRun: true);
        return new UnitOutcome(unit, true, seconds);
    }
}
