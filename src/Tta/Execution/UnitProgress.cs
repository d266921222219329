using System.Diagnostics;
using Tta.Cache;
using Tta.Core;

namespace Tta.Execution;

/// <summary>
/// What one running unit has done so far — its phase (loading, forward pass, rendering, …), bytes loaded of how many,
/// steps done of how many (layers, figures) — reported from deep in the call stack through <see cref="Current"/>
/// (set by the executor for the unit's thread and every task it starts) and read by <see cref="ProgressDisplay"/>.
/// Thread-safe: reports are plain stores and atomic adds.
/// </summary>
public sealed class UnitProgress(StageUnit unit) : IUnitProgress
{
    private readonly Stopwatch elapsed = Stopwatch.StartNew();
    private readonly Stopwatch phaseElapsed = Stopwatch.StartNew();
    private long bytesDone, bytesTotal;
    private int stepsDone, stepsTotal;
    private volatile string phase = "starting";

    public StageUnit Unit { get; } = unit;

    /// <summary>The current phase: <c>starting</c>, <c>loading</c>, <c>layer</c>, <c>figures</c>, ….</summary>
    public string PhaseName => phase;

    public long BytesLoaded => Volatile.Read(ref bytesDone);

    public long BytesToLoad => Volatile.Read(ref bytesTotal);

    public int StepsDone => Volatile.Read(ref stepsDone);

    public int StepsTotal => Volatile.Read(ref stepsTotal);

    /// <summary>Starts a phase with <paramref name="steps"/> steps (0 when not counted).</summary>
    public void Phase(string name, int steps = 0)
    {
        phase = name;
        Interlocked.Exchange(ref stepsTotal, steps);
        Interlocked.Exchange(ref stepsDone, 0);
        phaseElapsed.Restart();
    }

    /// <summary>Loading begins: <paramref name="total"/> bytes to read.</summary>
    public void LoadingBytes(long total)
    {
        Phase("loading");
        Interlocked.Exchange(ref bytesTotal, total);
        Interlocked.Exchange(ref bytesDone, 0);
    }

    public void Loaded(long bytes) => Interlocked.Add(ref bytesDone, bytes);

    /// <summary>One more step of the phase is done (from any thread).</summary>
    public void StepDone() => Interlocked.Increment(ref stepsDone);

    /// <summary>One line: <c>Extract x/m/t: layer 3/12, 4.2 s, about 12 s left</c>.</summary>
    public string Describe()
    {
        var seconds = elapsed.Elapsed.TotalSeconds;
        var text = $"{Unit.Stage} {Unit.Key}: {phase}";
        long total = Volatile.Read(ref bytesTotal), done = Volatile.Read(ref bytesDone);
        int steps = Volatile.Read(ref stepsTotal), step = Volatile.Read(ref stepsDone);
        var inPhase = phaseElapsed.Elapsed.TotalSeconds;
        if (phase == "loading" && total > 0)
        {
            text += FormattableString.Invariant($" {done / 1e9:0.00}/{total / 1e9:0.00} GB");
            if (inPhase > 0.2) text += FormattableString.Invariant($" ({done / 1e9 / inPhase:0.00} GB/s)");
            if (done > 0 && done < total) text += Left(inPhase * (total - done) / done);
        }
        else if (steps > 0)
        {
            text += $" {step}/{steps}";
            if (step > 0 && step < steps) text += Left(inPhase * (steps - step) / step);
        }
        return text + FormattableString.Invariant($", {seconds:0.0} s");
    }

    private static string Left(double seconds) => FormattableString.Invariant($", about {Math.Ceiling(seconds):0} s left");
}
