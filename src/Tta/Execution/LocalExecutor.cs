using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Tta.Cache;
using Tta.Core;
using Tta.Models;

namespace Tta.Execution;

/// <summary>
/// Runs units on this machine (an <see cref="IExecutor"/>): up to <see cref="RunContext.Jobs"/> at once (their libtorch
/// work one at a time, under the run's <see cref="TorchGate"/>: see <see cref="UnitResources.Torch"/>), each as soon as the units it reads are done, while the memory estimates of the running units and of the models they share stay within the budget
/// (<c>--memory-limit</c>, else available memory). A model is loaded once per process and serves every unit that
/// reads it (every text of that model), and is released when no unit of the run needs it any more. Each unit runs
/// under its <see cref="UnitLock"/> and is checked after taking it, so runs side by side build each unit once.
/// Output bytes do not depend on the order or the number of jobs.
/// </summary>
public sealed class LocalExecutor : IExecutor
{
    public IReadOnlyList<UnitOutcome> Run(UnitGraph graph, IReadOnlyList<StageUnit> units, RunContext context, RunOptions options)
    {
        var inRun = units.Select(u => u.Id).ToHashSet(StringComparer.Ordinal);
        var waitsFor = units.ToDictionary(u => u.Id, u => graph.UpstreamOf(u).Where(d => inRun.Contains(d.Id)).Select(d => d.Id).ToList(), StringComparer.Ordinal);
        var pending = new List<StageUnit>(units);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var running = new Dictionary<Task<UnitOutcome>, (StageUnit Unit, UnitResources Needs)>();
        var resources = new Dictionary<string, UnitResources>(StringComparer.Ordinal);
        var residentModels = new Dictionary<string, long>(StringComparer.Ordinal);
        var budget = context.MemoryLimitBytes ?? MemoryEstimate.Available() ?? long.MaxValue;
        long used = 0;
        var outcomes = new List<UnitOutcome>();
        using var ownDisplay = context.Progress is null ? new ProgressDisplay(context.Log, live: false) : null;
        var display = context.Progress ?? ownDisplay!;
        var failures = new List<(StageUnit Unit, ExceptionDispatchInfo Error)>();
        using var threads = new UnitThreads(context.Jobs);
        var profile = RunProfile.FromEnvironment();
        if (profile is not null) context.Torch.Observer = profile.TorchHeld;
        options.Tracker?.Begin(units);

        while (pending.Count > 0 || running.Count > 0)
        {
            // Start every ready unit that fits, in graph order; stop starting new ones after a failure. While a unit
            // with a model (a forward pass, mostly under the libtorch gate) runs, the first pass leaves the other
            // model units for the units that could run beside it (a text's metrics), so a second one does not
            // take the slot only to wait for the gate; the second pass takes them if nothing else was ready.
            for (var pass = 0; pass < 2 && running.Count < context.Jobs; pass++)
            for (var i = 0; failures.Count == 0 && i < pending.Count; i++)
            {
                var unit = pending[i];
                if (!waitsFor[unit.Id].All(done.Contains)) continue;
                if (!resources.TryGetValue(unit.Id, out var needs)) resources[unit.Id] = needs = NeedsOf(unit, context);
                if (running.Count >= context.Jobs) continue;
                if (pass == 0 && needs.ModelKey is not null && running.Values.Any(r => r.Needs.ModelKey is not null)) continue;
                // A unit that holds the libtorch gate for its whole run waits for another such unit to end rather
                // than take a job slot only to wait for the gate; units that enter it around their libtorch work run side by side.
                if (WholeRunTorch(needs) && running.Values.Any(r => WholeRunTorch(r.Needs))) continue;
                var modelCost = needs.ModelKey is { } key && !residentModels.ContainsKey(key) ? needs.ModelBytes : 0;
                if (running.Count > 0 && used + needs.WorkingBytes + modelCost > budget) continue;
                if (needs.ModelKey is { } k && modelCost > 0) residentModels[k] = modelCost;
                used += needs.WorkingBytes + modelCost;
                pending.RemoveAt(i--);
                profile?.Starting();
                running[threads.Run(() => RunOne(graph, unit, needs, context, options, display, profile))] = (unit, needs);
            }
            if (running.Count == 0) break; // a failure stopped the rest
            var finished = Task.WhenAny(running.Keys).GetAwaiter().GetResult();
            var (finishedUnit, finishedNeeds) = running[finished];
            running.Remove(finished);
            used -= finishedNeeds.WorkingBytes;
            if (finished.IsFaulted)
            {
                failures.Add((finishedUnit, ExceptionDispatchInfo.Capture(finished.Exception!.InnerException ?? finished.Exception)));
                options.Tracker?.Failed(finishedUnit);
            }
            else
            {
                outcomes.Add(finished.Result);
                done.Add(finishedUnit.Id);
            }
            // A model no other unit of this run needs is released. Units that share a model read the same upstream
            // unit (its checkpoint), so they all became ready, and told what they need, together.
            if (finishedNeeds.ModelKey is { } model
                && !pending.Concat(running.Values.Select(r => r.Unit)).Any(u => resources.TryGetValue(u.Id, out var r) && r.ModelKey == model))
            {
                context.Release(model);
                if (residentModels.Remove(model, out var bytes)) used -= bytes;
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

    private static bool WholeRunTorch(UnitResources needs) => needs.Torch && !needs.TorchSections;

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
            StageRunner.Run(unit, context.ForUnit(progress, torchForWholeRun: WholeRunTorch(needs)));
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
