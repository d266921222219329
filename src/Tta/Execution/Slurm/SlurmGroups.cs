using Tta.Cache;

namespace Tta.Execution.Slurm;

/// <summary>One unit as the grouping sees it: what it needs and how long it took last time (null: never built).</summary>
public sealed record GroupCandidate<T>(T Unit, UnitResources Needs, double? PreviousSeconds);

/// <summary>
/// Packs the stale units of one array level into Slurm tasks, so a task loads its model once and serves several
/// units (one at a time, in one process). The rule:
/// <list type="number">
/// <item>units are grouped only with units of the same model (<see cref="UnitResources.ModelKey"/>; units without a
/// model form one more kind) and the same GPU need, in the order given;</item>
/// <item>each kind is cut into the fewest groups of at most <c>--group-size</c> units (<see cref="DefaultMaxUnits"/>
/// when not given), of sizes that differ by one at most (20 units by 16 are two tasks of 10, not 16 and 4);</item>
/// <item>when a time limit is known (<c>--time</c>), a group is cut further so that its estimated time — the sum of
/// its units' previous build times from their manifests, <see cref="UnknownUnitSeconds"/> for a unit never built —
/// stays within half the limit (estimates are rough, and a task over its limit loses every unit it had not
/// finished). A unit estimated over that alone still gets a task of its own.</item>
/// </list>
/// Memory never cuts a group: its units run one after another, so a task needs the model once, the largest working
/// set and the process (<see cref="MemoryBytes"/>), no more than its largest unit alone.
/// </summary>
public static class SlurmGroups
{
    /// <summary>Units per task when neither --group-size nor a time limit says otherwise: few loads, some parallelism.</summary>
    public const int DefaultMaxUnits = 16;

    /// <summary>The guess for a unit that has no previous build time: conservative, so a task rather ends early.</summary>
    public const double UnknownUnitSeconds = 300;

    /// <summary>The groups, each a list of units, kinds in order of first appearance.</summary>
    public static IReadOnlyList<IReadOnlyList<GroupCandidate<T>>> Plan<T>(IReadOnlyList<GroupCandidate<T>> units, int? groupSize,
        TimeSpan? timeLimit)
    {
        var maxUnits = groupSize ?? DefaultMaxUnits;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxUnits, 1, nameof(groupSize));
        var groups = new List<IReadOnlyList<GroupCandidate<T>>>();
        foreach (var kind in units.GroupBy(u => (u.Needs.ModelKey, u.Needs.Gpu)))
        {
            var members = kind.ToList();
            var count = (members.Count + maxUnits - 1) / maxUnits;
            for (int i = 0, start = 0; i < count; i++)
            {
                var size = members.Count / count + (i < members.Count % count ? 1 : 0);
                groups.AddRange(WithinTime(members.GetRange(start, size), timeLimit));
                start += size;
            }
        }
        return groups;
    }

    /// <summary>A group's estimated time: its units' previous build times, or the guess for each never built.</summary>
    public static double EstimatedSeconds<T>(IEnumerable<GroupCandidate<T>> group) =>
        group.Sum(u => u.PreviousSeconds ?? UnknownUnitSeconds);

    /// <summary>What one task of these units needs: the model once, the largest working set, and the process.</summary>
    public static long MemoryBytes(IEnumerable<UnitResources> group)
    {
        var needs = group.ToList();
        return needs.Max(n => n.ModelBytes) + needs.Max(n => n.WorkingBytes) + Models.MemoryEstimate.ProcessBytes;
    }

    private static IEnumerable<List<GroupCandidate<T>>> WithinTime<T>(List<GroupCandidate<T>> group, TimeSpan? timeLimit)
    {
        if (timeLimit is not { } limit)
        {
            yield return group;
            yield break;
        }
        var budget = limit.TotalSeconds / 2;
        var current = new List<GroupCandidate<T>>();
        foreach (var unit in group)
        {
            if (current.Count > 0 && EstimatedSeconds([.. current, unit]) > budget)
            {
                yield return current;
                current = [];
            }
            current.Add(unit);
        }
        yield return current;
    }
}
