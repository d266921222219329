using Tta.Cache;
using Tta.Execution.Slurm;
using Tta.Models;

namespace Tta.Tests.Execution;

/// <summary>The rule that packs a level's stale units into Slurm tasks (<see cref="SlurmGroups"/>).</summary>
public class SlurmGroupsTests
{
    private static readonly UnitResources Falcon = new(1L << 30, "model:falcon", 14L << 30);
    private static readonly UnitResources Bert = new(1L << 28, "model:bert", 1L << 27);

    private static List<GroupCandidate<string>> Units(string prefix, int count, UnitResources needs, double? seconds = null) =>
        [.. Enumerable.Range(1, count).Select(i => new GroupCandidate<string>($"{prefix}{i}", needs, seconds))];

    private static List<int> Sizes<T>(IReadOnlyList<IReadOnlyList<GroupCandidate<T>>> groups) => [.. groups.Select(g => g.Count)];

    [Fact]
    public void GroupSizeCutsAModelsUnitsIntoTasksOfAtMostThatMany()
    {
        var groups = SlurmGroups.Plan(Units("t", 20, Falcon), groupSize: 5, timeLimit: null);
        Assert.Equal([5, 5, 5, 5], Sizes(groups));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"t{i}"), groups.SelectMany(g => g).Select(u => u.Unit)); // order kept
    }

    [Fact]
    public void GroupsOfAKindDifferInSizeByOneAtMost()
    {
        Assert.Equal([5, 4, 4, 4, 4], Sizes(SlurmGroups.Plan(Units("t", 21, Falcon), 5, null)));
        // The default: at most 16 units per task, balanced (two tasks of 10, not 16 and 4).
        Assert.Equal([10, 10], Sizes(SlurmGroups.Plan(Units("t", 20, Falcon), null, null)));
        Assert.Equal([16], Sizes(SlurmGroups.Plan(Units("t", SlurmGroups.DefaultMaxUnits, Falcon), null, null)));
        Assert.Equal([1, 1, 1], Sizes(SlurmGroups.Plan(Units("t", 3, Falcon), 1, null)));
    }

    [Fact]
    public void UnitsOfDifferentModelsOrNoneNeverShareATask()
    {
        List<GroupCandidate<string>> units = [.. Units("f", 3, Falcon), .. Units("b", 2, Bert), .. Units("s", 4, UnitResources.Small),
            new("g", Falcon with { Gpu = true }, null)];
        var groups = SlurmGroups.Plan(units, 10, null);
        Assert.Equal(["f1 f2 f3", "b1 b2", "s1 s2 s3 s4", "g"], groups.Select(g => string.Join(' ', g.Select(u => u.Unit))));
    }

    [Fact]
    public void ATimeLimitKeepsEachGroupsEstimateWithinHalfOfIt()
    {
        // Built before in 100 s each: half of an hour holds 18 of them.
        Assert.Equal([18, 2], Sizes(SlurmGroups.Plan(Units("t", 20, Falcon, 100), 20, TimeSpan.FromHours(1))));
        Assert.Equal([10, 10], Sizes(SlurmGroups.Plan(Units("t", 20, Falcon, 100), null, TimeSpan.FromHours(1))));
        // Never built: 300 s each is guessed, so half an hour holds 6.
        Assert.Equal([6, 6, 4], Sizes(SlurmGroups.Plan(Units("t", 16, Falcon), null, TimeSpan.FromHours(1))));
        // A unit over the budget alone still gets a task.
        Assert.Equal([1, 1], Sizes(SlurmGroups.Plan(Units("t", 2, Falcon, 4000), null, TimeSpan.FromHours(1))));
        Assert.Equal(1800, SlurmGroups.EstimatedSeconds(Units("t", 6, Falcon)));
    }

    [Fact]
    public void ATasksMemoryIsTheModelOnceTheLargestWorkingSetAndTheProcess()
    {
        var bytes = SlurmGroups.MemoryBytes([Falcon, Falcon with { WorkingBytes = 3L << 30 }, Falcon]);
        Assert.Equal((14L << 30) + (3L << 30) + MemoryEstimate.ProcessBytes, bytes);
        Assert.Equal(UnitResources.Small.WorkingBytes + MemoryEstimate.ProcessBytes, SlurmGroups.MemoryBytes([UnitResources.Small, UnitResources.Small]));
    }

    [Fact]
    public void AGroupSizeBelowOneIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SlurmGroups.Plan(Units("t", 2, Falcon), 0, null));
}
