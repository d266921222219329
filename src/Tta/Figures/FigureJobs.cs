using System.Runtime.ExceptionServices;

namespace Tta.Figures;

/// <summary>
/// Renders figures side by side on up to <c>workers</c> threads. Each figure is drawn from its own data alone and written
/// to its own files, so the bytes do not depend on the number of workers or the order they finish in; the returned
/// paths are in job order.
/// </summary>
public static class FigureJobs
{
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
