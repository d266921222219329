using Tta.Explorer;

namespace Tta.Tests.Explorer;

public class TokenTableTests
{
    [Fact]
    public void AModelsTextsShareOneTableAndADifferentReadingOrModelGetsItsOwn()
    {
        var tables = new TokenTables();
        var t5 = tables.For("t5", "plain");
        Assert.Same(t5, tables.For("t5", "plain"));
        var bytes = tables.For("t5", "byte-level");
        var other = tables.For("gpt2", "plain");
        Assert.Equal([0, 1, 2], tables.All.Select(t => t.Index));
        Assert.Equal([t5, bytes, other], tables.All);
    }

    [Fact]
    public void ATableHoldsEachIdUsedOnceInIdOrderAndRefusesASecondStringForAnId()
    {
        var table = new TokenTables().For("t5", "plain");
        Assert.Equal(32, table.Add(32, "␣the"));
        Assert.Equal(5, table.Add(5, "#5"));
        Assert.Equal(32, table.Add(32, "␣the"));
        Assert.Equal([5L, 32L], table.Tokens.Keys);
        Assert.Equal(["#5", "␣the"], table.Tokens.Values);
        Assert.Throws<InvalidOperationException>(() => table.Add(32, "the"));
    }
}
