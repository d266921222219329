using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Tta.Execution;

/// <summary>
/// Where a local run's cores went, written when <see cref="FileVariable"/> names a file (Bench's <c>scaleout</c>
/// reads it): the window from the first unit's start to the last unit's end, the CPU time of the whole process tree
/// in it (this process and its waited-for children, e.g. Chromium), the share of the window with 0, 1, 2, … units
/// running and with the libtorch gate held, and each stage's units.
/// </summary>
public sealed class RunProfile
{
    public const string FileVariable = "TTA_RUN_PROFILE";

    private readonly object gate = new();
    private readonly List<(long Start, long End, string Stage, string Key)> units = [];
    private readonly List<(long Start, long End)> torch = [];
    private double cpuAtFirst = double.NaN;
    private long first = long.MaxValue;

    /// <summary>The profile the environment asks for, or null.</summary>
    public static RunProfile? FromEnvironment() =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable(FileVariable)) ? null : new RunProfile();

    /// <summary>A unit is about to start: the window opens at the first.</summary>
    public void Starting()
    {
        lock (gate)
            if (double.IsNaN(cpuAtFirst)) (cpuAtFirst, first) = (CpuSeconds(), Stopwatch.GetTimestamp());
    }

    public void Unit(string stage, string key, long start, long end)
    {
        lock (gate) units.Add((start, end, stage, key));
    }

    public void TorchHeld(long start, long end)
    {
        lock (gate) torch.Add((start, end));
    }

    /// <summary>Writes the profile (the window closes now, after the last unit) to the file the environment names.</summary>
    public void Write()
    {
        var (last, cpu) = (Stopwatch.GetTimestamp(), CpuSeconds());
        lock (gate)
        {
            if (units.Count == 0) return;
            var window = Stopwatch.GetElapsedTime(first, last).TotalSeconds;
            var running = Overlap([.. units.Select(u => (u.Start, u.End))]);
            var profile = new RunProfileResult(window, cpu - cpuAtFirst, units.Count,
                [.. running.Select(t => t / window)], torch.Sum(t => Stopwatch.GetElapsedTime(t.Start, t.End).TotalSeconds) / window,
                units.GroupBy(u => u.Stage).Select(g => new StageProfile(g.Key, g.Count(),
                    g.Sum(u => Stopwatch.GetElapsedTime(u.Start, u.End).TotalSeconds),
                    Stopwatch.GetElapsedTime(first, g.Min(u => u.Start)).TotalSeconds, Stopwatch.GetElapsedTime(first, g.Max(u => u.End)).TotalSeconds)).ToList(),
                [.. units.OrderBy(u => u.Start).Select(u => new UnitSpan($"{u.Stage} {u.Key}", Stopwatch.GetElapsedTime(first, u.Start).TotalSeconds, Stopwatch.GetElapsedTime(first, u.End).TotalSeconds))]);
            File.WriteAllText(Environment.GetEnvironmentVariable(FileVariable)!, JsonSerializer.Serialize(profile));
        }
    }

    /// <summary>Seconds of the window with exactly k intervals open, for k = 0, 1, 2, ….</summary>
    private List<double> Overlap(List<(long Start, long End)> spans)
    {
        var events = spans.SelectMany(s => new[] { (At: s.Start, Step: 1), (At: s.End, Step: -1) }).OrderBy(e => e.At).ThenBy(e => e.Step).ToList();
        var seconds = new List<double> { 0 };
        var (open, at) = (0, first);
        foreach (var (time, step) in events)
        {
            seconds[open] += Stopwatch.GetElapsedTime(at, time).TotalSeconds;
            (open, at) = (open + step, time);
            while (seconds.Count <= open) seconds.Add(0);
        }
        return seconds;
    }

    /// <summary>
    /// User + system CPU seconds (/proc/self/stat, 1/100 s ticks) of this process (<paramref name="self"/>) and of its
    /// finished, waited-for children and theirs (<paramref name="children"/>).
    /// </summary>
    public static double CpuSeconds(bool self = true, bool children = true)
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long Ticks(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
        return ((self ? Ticks(11) + Ticks(12) : 0) + (children ? Ticks(13) + Ticks(14) : 0)) / 100.0;
    }
}

/// <summary>
/// A run's profile: <see cref="WindowSeconds"/> from the first unit's start to the last unit's end, the process
/// tree's <see cref="CpuSeconds"/> in it, the share of it with k units running (<see cref="Running"/>[k]) and with
/// the libtorch gate held (<see cref="TorchHeld"/>), each stage's units, and each unit's span in start order.
/// </summary>
public sealed record RunProfileResult(double WindowSeconds, double CpuSeconds, int Units, IReadOnlyList<double> Running, double TorchHeld,
    IReadOnlyList<StageProfile> Stages, IReadOnlyList<UnitSpan> Timeline)
{
    public double BusyCores => CpuSeconds / WindowSeconds;
}

/// <summary>One unit's span in a run, in seconds from the window's start.</summary>
public sealed record UnitSpan(string Unit, double Start, double End);

/// <summary>One stage's units in a run: how many, their summed seconds, when the first started and the last ended (from the window's start).</summary>
public sealed record StageProfile(string Stage, int Units, double UnitSeconds, double FirstStart, double LastEnd);
