using Parquet;

namespace Tta.Store;

/// <summary>Reads a store file written by <see cref="VectorStoreWriter"/>.</summary>
public static class VectorStoreReader
{
    /// <summary>The file's key-value metadata only (tokens, model, fingerprint; read from the footer).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadMetadataAsync(string path)
    {
        await using var file = await OpenAsync(path);
        return file.Metadata;
    }

    /// <summary>Reads the whole file (metadata and every block).</summary>
    public static async Task<(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<VectorBlock> Blocks)> ReadAsync(string path)
    {
        var blocks = new List<VectorBlock>();
        var metadata = await ForEachBlockAsync(path, b =>
        {
            blocks.Add(b);
            return Task.CompletedTask;
        });
        return (metadata, blocks);
    }

    /// <summary>
    /// Hands the blocks to <paramref name="visit"/> one row group at a time, so memory holds one block, not the file;
    /// returns the file's key-value metadata.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> ForEachBlockAsync(string path, Func<VectorBlock, Task> visit)
    {
        await using var file = await OpenAsync(path);
        await file.ForEachBlockAsync(visit);
        return file.Metadata;
    }

    /// <summary>
    /// Opens a store file and reads its footer once: its metadata is at hand before its blocks are visited (a reader
    /// that needs the points to know what a block is opens the file once, not twice).
    /// </summary>
    public static async Task<VectorStoreFile> OpenAsync(string path)
    {
        var stream = File.OpenRead(path);
        try
        {
            return new VectorStoreFile(path, stream, await ParquetReader.CreateAsync(stream));
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary><see cref="OpenAsync"/> for synchronous callers.</summary>
    public static VectorStoreFile Open(string path) => Task.Run(() => OpenAsync(path)).GetAwaiter().GetResult();
}
