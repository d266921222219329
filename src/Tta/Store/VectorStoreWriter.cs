using Parquet;
using Parquet.Schema;
using Tta.Core;

namespace Tta.Store;

/// <summary>
/// The public Parquet format of activations and metrics (schema in src/Tta/Store/README.md): one row per vector with columns
/// <c>point, stack, layer, head, [measure,] position, values</c>, file key-value metadata for tokens, model and
/// fingerprint. Written streaming, one row group per block, Snappy-compressed, to a temporary file that is renamed into
/// place only by <see cref="CommitAsync"/>, so a killed run never leaves a file that looks complete.
/// </summary>
public sealed class VectorStoreWriter : IAsyncDisposable
{
    private const string CreatedBy = "tta vector store 1";

    private readonly string path;
    private readonly string temp;
    private readonly FileStream stream;
    private readonly ParquetColumnWriter writer;
    private readonly Dictionary<string, string> metadata;
    private readonly bool withMeasure;
    private bool committed;
    private int blocksWritten;

    /// <summary>
    /// Fault injection for the crash-safety test: with TTA_FAULT_CRASH_AFTER_BLOCKS=N the process dies abruptly
    /// (no finally blocks, no cleanup) after writing N blocks, as if killed mid-write.
    /// </summary>
    private static readonly int? CrashAfterBlocks =
        int.TryParse(Environment.GetEnvironmentVariable("TTA_FAULT_CRASH_AFTER_BLOCKS"), out var n) ? n : null;

    /// <summary>
    /// Fault injection for the interrupt test: with TTA_FAULT_STALL_AFTER_BLOCKS=N the unit stops after writing N
    /// blocks, half-written, until the process is interrupted (Ctrl-C).
    /// </summary>
    private static readonly int? StallAfterBlocks =
        int.TryParse(Environment.GetEnvironmentVariable("TTA_FAULT_STALL_AFTER_BLOCKS"), out var n) ? n : null;

    private VectorStoreWriter(string path, string temp, FileStream stream, IReadOnlyDictionary<string, string> metadata, bool withMeasure)
    {
        this.path = path;
        this.temp = temp;
        this.stream = stream;
        this.metadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        this.withMeasure = withMeasure;
        writer = new ParquetColumnWriter(stream, Columns(withMeasure));
    }

    private static List<ParquetColumnWriter.Column> Columns(bool withMeasure)
    {
        static ParquetColumnWriter.Column Text(string name) =>
            new(name, ParquetColumnWriter.PhysicalType.ByteArray, ParquetColumnWriter.Repetition.Required, IsString: true);
        static ParquetColumnWriter.Column Int(string name, ParquetColumnWriter.Repetition r) =>
            new(name, ParquetColumnWriter.PhysicalType.Int32, r);
        var columns = new List<ParquetColumnWriter.Column>
        {
            Text("point"), Text("stack"),
            Int("layer", ParquetColumnWriter.Repetition.Required), Int("head", ParquetColumnWriter.Repetition.Optional),
        };
        if (withMeasure) columns.Add(Text("measure"));
        columns.Add(Int("position", ParquetColumnWriter.Repetition.Required));
        columns.Add(new("values", ParquetColumnWriter.PhysicalType.Float, ParquetColumnWriter.Repetition.Optional, IsFloatList: true));
        return columns;
    }

    public static Task<VectorStoreWriter> CreateAsync(string path, IReadOnlyDictionary<string, string> metadata, bool withMeasure = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = AtomicFile.TempPathFor(path);
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        return Task.FromResult(new VectorStoreWriter(path, temp, stream, metadata, withMeasure));
    }

    /// <summary>Writes one block (row-major [positions, dim]) as its own row group.</summary>
    public Task WriteAsync(ActivationPoint key, ReadOnlyMemory<float> values, int positions, int dim)
    {
        if (values.Length != (long)positions * dim) throw new ArgumentException($"{key.Point}: {values.Length} values for {positions}x{dim}");
        if (withMeasure != (key.Measure is not null)) throw new ArgumentException($"{key.Point}: measure column mismatch");
        if (positions == 0 || dim == 0) throw new ArgumentException($"{key.Point}: empty block ({positions}x{dim})");
        writer.BeginRowGroup(positions);
        writer.WriteStrings(Enumerable.Repeat(key.Point, positions).ToArray());
        writer.WriteStrings(Enumerable.Repeat(key.Stack, positions).ToArray());
        writer.WriteInts(Enumerable.Repeat(key.Layer, positions).ToArray());
        writer.WriteNullableInts(Enumerable.Repeat(key.Head, positions).ToArray());
        if (withMeasure) writer.WriteStrings(Enumerable.Repeat(key.Measure!, positions).ToArray());
        writer.WriteInts(Enumerable.Range(0, positions).ToArray());
        writer.WriteFloatLists(values.Span, positions, dim);
        writer.EndRowGroup();
        if (++blocksWritten == CrashAfterBlocks)
        {
            stream.Flush();
            Environment.FailFast($"TTA_FAULT_CRASH_AFTER_BLOCKS: injected crash while writing {path}");
        }
        if (blocksWritten == StallAfterBlocks)
        {
            stream.Flush();
            Thread.Sleep(Timeout.Infinite); // until the process is interrupted
        }
        return Task.CompletedTask;
    }

    /// <summary>Sets a key-value metadata entry (written with the footer, so it may be set until <see cref="CommitAsync"/>).</summary>
    public void SetMetadata(string key, string value) => metadata[key] = value;

    /// <summary>Finishes the file, flushes it to disk (or leaves that to a <see cref="DeferredFlush"/>) and renames it into place.</summary>
    public async Task CommitAsync()
    {
        writer.Finish(metadata, CreatedBy);
        if (!DeferredFlush.Defer(path)) stream.Flush(flushToDisk: true);
        await stream.DisposeAsync();
        File.Move(temp, path, overwrite: true);
        committed = true;
    }

    public ValueTask DisposeAsync()
    {
        // Not committed: the temporary file goes, even when closing it fails (a full disk fails the close's flush).
        if (!committed) AtomicFile.Abandon(stream, temp);
        return ValueTask.CompletedTask;
    }
}
