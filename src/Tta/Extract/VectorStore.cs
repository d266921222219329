using Parquet;
using Parquet.Schema;
using Tta.Cache;

namespace Tta.Extract;

/// <summary>
/// Identifies one block of vectors in a store file: a capture point (HF module path or <c>hidden_states.N</c>), the
/// stack it belongs to, its layer, the head (null when not per-head) and, in metrics files, the measure.
/// </summary>
public sealed record ActivationPoint(string Point, string Stack, int Layer, int? Head = null, string? Measure = null);

/// <summary>One block read back: <see cref="Values"/> is row-major [Positions, Dim].</summary>
public sealed record VectorBlock(ActivationPoint Key, int Positions, int Dim, float[] Values)
{
    public ReadOnlySpan<float> Row(int position) => Values.AsSpan(position * Dim, Dim);
}

/// <summary>
/// The public Parquet format of activations and metrics (schema in README "Outputs"): one row per vector with columns
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
    private readonly IReadOnlyDictionary<string, string> metadata;
    private readonly bool withMeasure;
    private bool committed;
    private int blocksWritten;

    /// <summary>
    /// Fault injection for the crash-safety test: with TTA_FAULT_CRASH_AFTER_BLOCKS=N the process dies abruptly
    /// (no finally blocks, no cleanup) after writing N blocks, as if killed mid-write.
    /// </summary>
    private static readonly int? CrashAfterBlocks =
        int.TryParse(Environment.GetEnvironmentVariable("TTA_FAULT_CRASH_AFTER_BLOCKS"), out var n) ? n : null;

    private VectorStoreWriter(string path, string temp, FileStream stream, IReadOnlyDictionary<string, string> metadata, bool withMeasure)
    {
        this.path = path;
        this.temp = temp;
        this.stream = stream;
        this.metadata = metadata;
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
        return Task.CompletedTask;
    }

    /// <summary>Finishes the file, flushes it to disk and renames it into place.</summary>
    public async Task CommitAsync()
    {
        writer.Finish(metadata, CreatedBy);
        stream.Flush(flushToDisk: true);
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

/// <summary>Reads a store file written by <see cref="VectorStoreWriter"/>.</summary>
public static class VectorStoreReader
{
    /// <summary>The file's key-value metadata only (tokens, model, fingerprint; read from the footer).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadMetadataAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        return reader.CustomMetadata ?? new Dictionary<string, string>();
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
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        DataField F(string name) => fields.First(f => f.Path.ToString() == name || f.Name == name && f.Path.ToString().StartsWith(name, StringComparison.Ordinal));
        var valuesField = fields.First(f => f.Path.ToString().StartsWith("values", StringComparison.Ordinal));
        var hasMeasure = fields.Any(f => f.Name == "measure");
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = (int)group.RowCount;
            if (rows == 0) continue;
            var point = new string?[rows];
            var stack = new string?[rows];
            var layer = new int[rows];
            var head = new int?[rows];
            var measure = new string?[rows];
            await group.ReadAsync(F("point"), point.AsMemory());
            await group.ReadAsync(F("stack"), stack.AsMemory());
            await group.ReadAsync<int>(F("layer"), layer.AsMemory());
            await group.ReadAsync<int>(F("head"), head.AsMemory());
            if (hasMeasure) await group.ReadAsync(F("measure"), measure.AsMemory());
            var total = checked((int)group.GetMetadata(valuesField)!.MetaData!.NumValues);
            var values = new float[total];
            var rep = new int[total];
            var def = new int[total];
            await group.ReadRawAsync<float>(valuesField, values.AsMemory(), def.AsMemory(), rep.AsMemory());
            if (def.Any(d => d != valuesField.MaxDefinitionLevel))
                throw new InvalidDataException($"{path}: null vectors or elements in row group {g}; not a tta store file");
            var dim = total / rows;
            await visit(new VectorBlock(new ActivationPoint(point[0]!, stack[0]!, layer[0], head[0], hasMeasure ? measure[0] : null), rows, dim, values));
        }
        return reader.CustomMetadata ?? new Dictionary<string, string>();
    }
}
