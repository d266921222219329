using Tta.Cache;

namespace Tta.Execution;

/// <summary>
/// The units of a local run that have not started, kept so that finding the next one costs no scan of the whole run:
/// a unit becomes ready once every unit of the run that it reads is done, and is then told what it needs (once).
/// Ready units are kept in graph order, those with a model apart from those without. It also counts, per model, the
/// units told their needs that have not finished, so the executor knows when no unit of the run needs a model any more.
/// </summary>
internal sealed class ReadyUnits
{
    private readonly IReadOnlyList<StageUnit> units;
    private readonly Dictionary<string, int> order = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> unfinishedInputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> readers = new(StringComparer.Ordinal);
    private readonly SortedSet<int> withModel = [];
    private readonly SortedSet<int> withoutModel = [];
    private readonly Dictionary<int, UnitResources> needs = [];
    private readonly Dictionary<string, int> openByModel = new(StringComparer.Ordinal);
    private readonly Func<StageUnit, UnitResources> needsOf;

    /// <param name="units">the run's units, in graph order (upstream units first)</param>
    public ReadyUnits(UnitGraph graph, IReadOnlyList<StageUnit> units, Func<StageUnit, UnitResources> needsOf)
    {
        this.units = units;
        this.needsOf = needsOf;
        for (var i = 0; i < units.Count; i++) order[units[i].Id] = i;
        for (var i = 0; i < units.Count; i++)
        {
            var inputs = graph.UpstreamOf(units[i]).Select(u => u.Id).Where(order.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
            unfinishedInputs[units[i].Id] = inputs.Count;
            foreach (var input in inputs)
            {
                if (!readers.TryGetValue(input, out var list)) readers[input] = list = [];
                list.Add(i);
            }
        }
        Waiting = units.Count;
        for (var i = 0; i < units.Count; i++)
            if (unfinishedInputs[units[i].Id] == 0) MakeReady(i);
    }

    /// <summary>Units not started yet (ready or waiting for their inputs).</summary>
    public int Waiting { get; private set; }

    /// <summary>
    /// Takes the first ready unit, in graph order, that <paramref name="fits"/>; with <paramref name="preferWithoutModel"/>,
    /// units without a model come before those with one. Null when none is ready and fits.
    /// </summary>
    public (StageUnit Unit, UnitResources Needs)? Take(Func<StageUnit, UnitResources, bool> fits, bool preferWithoutModel)
    {
        var candidates = preferWithoutModel ? withoutModel.Concat(withModel) : InOrder(withModel, withoutModel);
        int? found = null;
        foreach (var i in candidates)
            if (fits(units[i], needs[i]))
            {
                found = i;
                break;
            }
        if (found is not { } index) return null;
        (needs[index].ModelKey is null ? withoutModel : withModel).Remove(index);
        Waiting--;
        return (units[index], needs[index]);
    }

    /// <summary>A unit is built: the units that read it may become ready.</summary>
    public void Done(StageUnit unit)
    {
        if (!readers.TryGetValue(unit.Id, out var list)) return;
        foreach (var reader in list)
            if (--unfinishedInputs[units[reader].Id] == 0) MakeReady(reader);
    }

    /// <summary>A unit ended (built or failed): the model it used, when no other unit of the run needs it now; else null.</summary>
    public string? Finished(UnitResources ended)
    {
        if (ended.ModelKey is not { } model || !openByModel.TryGetValue(model, out var open)) return null;
        if (open > 1)
        {
            openByModel[model] = open - 1;
            return null;
        }
        openByModel.Remove(model);
        return model;
    }

    private void MakeReady(int index)
    {
        var unitNeeds = needs[index] = needsOf(units[index]);
        if (unitNeeds.ModelKey is { } model) openByModel[model] = openByModel.GetValueOrDefault(model) + 1;
        (unitNeeds.ModelKey is null ? withoutModel : withModel).Add(index);
    }

    /// <summary>The indices of two sorted sets, merged in order.</summary>
    private static IEnumerable<int> InOrder(SortedSet<int> a, SortedSet<int> b)
    {
        using var x = a.GetEnumerator();
        using var y = b.GetEnumerator();
        bool hasX = x.MoveNext(), hasY = y.MoveNext();
        while (hasX || hasY)
            if (hasX && (!hasY || x.Current < y.Current))
            {
                yield return x.Current;
                hasX = x.MoveNext();
            }
            else
            {
                yield return y.Current;
                hasY = y.MoveNext();
            }
    }
}
