using System.Runtime.ExceptionServices;
using Tta.Cache;

namespace Tta.Figures;

/// <summary>
/// Renders figures side by side on up to <c>workers</c> threads. Each figure is drawn from its own data alone and written
/// to its own files, so the bytes do not depend on the number of workers or the order they finish in; the returned
/// paths are in job order.
/// </summary>
public static class FigureJobs
{
    /// <summary>
    /// Renders on up to <see cref="RunContext.Jobs"/> threads; however many units of the run do so at once, at most that
    /// many figures are being drawn (each holds a raster of the figure's size in memory).
    /// </summary>
    public static List<string> Run(IReadOnlyList<FigureJob> jobs, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // One gate per run, kept by its context: units that render side by side share its Jobs slots.
        var gate = context.Keep("figures:gate", () => new SemaphoreSlim(context.Jobs, context.Jobs));
        var progress = context.UnitProgress;
        progress?.Phase("figures", jobs.Count);
        return Run([.. jobs.Select(j => j with
        {
            Render = () =>
            {
                gate.Wait();
                try { return j.Render(); }
                finally
                {
                    gate.Release();
                    progress?.StepDone();
                }
            },
        })], context.Jobs);
    }

    public static List<string> Run(IReadOnlyList<FigureJob> jobs, int workers)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker");
        // The font resolver joins ScottPlot's global list before any thread reads it.
        FigureFont.EnsureRegistered();
        var results = new IReadOnlyList<string>[jobs.Count];
        if (workers == 1 || jobs.Count <= 1)
        {
            for (var i = 0; i < jobs.Count; i++) results[i] = jobs[i].Render();
        }
        else
        {
            try
            {
                Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, i => results[i] = jobs[i].Render());
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // The first failure as itself, so its message reaches the user unwrapped.
                ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }
        }
        return [.. results.SelectMany(r => r)];
    }
}
