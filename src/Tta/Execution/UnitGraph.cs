using Tta.Cache;
using Tta.Config;
using Tta.Pipeline;

namespace Tta.Execution;

/// <summary>
/// Every unit of every stage of a run, with the edges their declarations give (<see cref="UnitDeclaration.Reads"/>):
/// what the executors schedule, what <c>tta-cli run --unit=ID</c> looks up, and what <c>--explain</c> reads.
/// Units are listed stage by stage in declaration order, so upstream units always come first.
/// </summary>
public sealed class UnitGraph
{
    private readonly Dictionary<string, StageUnit> byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<StageUnit>> upstream = new(StringComparer.Ordinal);
    private readonly List<StageUnit> units = [];

    private UnitGraph(IEnumerable<StageUnit> all)
    {
        foreach (var u in all)
            if (byId.TryAdd(u.Id, u)) units.Add(u);
        foreach (var u in units)
            upstream[u.Id] = u.Declare().Upstream.Select(d => byId.TryGetValue(d.Id, out var known) ? known
                : throw new InvalidOperationException($"{u.Id} reads {d.Id}, which is not a unit of this run")).ToList();
    }

    public static UnitGraph For(RunContext context) => new(Stages.StageNames.SelectMany(s => Stages.Units(s, context)));

    /// <summary>The graph of exactly these units, upstream units first (tests run the executor on units of their own).</summary>
    internal static UnitGraph Of(IEnumerable<StageUnit> units) => new(units);

    public IReadOnlyList<StageUnit> Units => units;

    public IEnumerable<StageUnit> InStage(string stage) => units.Where(u => u.Stage == stage);

    /// <summary>The units <paramref name="unit"/> reads.</summary>
    public IReadOnlyList<StageUnit> UpstreamOf(StageUnit unit) => upstream[unit.Id];

    /// <summary>The unit with this id (<c>Stage:Key</c>), or an error naming the closest one.</summary>
    public StageUnit Find(string id)
    {
        if (byId.TryGetValue(id, out var unit)) return unit;
        var guess = Suggestions.Closest(id, byId.Keys);
        throw new ArgumentException($"--unit={id}: no such unit in this run" + (guess is null ? "" : $"; did you mean --unit={guess}?") +
            " (tta-cli units lists them)");
    }

    /// <summary><paramref name="selected"/> and every unit upstream of them, in graph order.</summary>
    public IReadOnlyList<StageUnit> WithUpstream(IEnumerable<StageUnit> selected)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<StageUnit>(selected);
        while (stack.Count > 0)
        {
            var u = stack.Pop();
            if (!wanted.Add(u.Id)) continue;
            foreach (var d in UpstreamOf(u)) stack.Push(d);
        }
        return units.Where(u => wanted.Contains(u.Id)).ToList();
    }
}
