using Tta.Core;
using Tta.Store;

namespace Tta.Tests.Core;

/// <summary>
/// Inside a <see cref="DeferredFlush"/> the writers rename complete files into place at once and leave the disk flush
/// to it: every file written in it (on its thread and on the tasks it starts) is noted, none after it ends.
/// </summary>
public class DeferredFlushTests
{
    [Fact]
    public async Task FilesWrittenInsideAreInPlaceAndNotedForTheFlushAndNoneAfterItEnds()
    {
        var dir = Repo.TempDir();
        var (text, bytes, onTask, parquet, after) = (Path.Combine(dir, "a.txt"), Path.Combine(dir, "b.bin"), Path.Combine(dir, "c.txt"),
            Path.Combine(dir, "d.parquet"), Path.Combine(dir, "e.txt"));
        var deferral = DeferredFlush.Begin();
        using (deferral)
        {
            AtomicFile.WriteAllText(text, "one");
            AtomicFile.WriteAllBytes(bytes, [1, 2, 3]);
            await Task.Run(() => AtomicFile.WriteAllText(onTask, "on a task"));
            await using (var writer = await VectorStoreWriter.CreateAsync(parquet, new Dictionary<string, string> { ["k"] = "v" }))
                await writer.CommitAsync();
            // Readers on this machine see complete files before the flush: the rename happened.
            Assert.Equal("one", File.ReadAllText(text));
            Assert.Equal("on a task", File.ReadAllText(onTask));
            Assert.True(new FileInfo(parquet).Length > 0);
        }
        AtomicFile.WriteAllText(after, "after");
        Assert.Equal([text, bytes, onTask, parquet], deferral.Files);
        Assert.Empty(Directory.GetFiles(dir, ".tmp-*"));

        // A noted file removed before the flush is skipped: only files that are there can be vouched for.
        File.Delete(bytes);
        deferral.FlushAll();
        Assert.Equal("one", File.ReadAllText(text));
    }

    [Fact]
    public void OutsideADeferralWritersFlushThemselves()
    {
        Assert.False(DeferredFlush.Defer(Path.Combine(Repo.TempDir(), "x")));
        using (DeferredFlush.Begin())
            Assert.True(DeferredFlush.Defer(Path.Combine(Repo.TempDir(), "x")));
        Assert.False(DeferredFlush.Defer(Path.Combine(Repo.TempDir(), "x")));
    }
}
