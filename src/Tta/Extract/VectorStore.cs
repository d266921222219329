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
    private static readonly DataField<string> PointField = new("point");
    private static readonly DataField<string> StackField = new("stack");
    private static readonly DataField<int> LayerField = new("layer");
    private static readonly DataField<int?> HeadField = new("head");
    private static readonly DataField<string> MeasureField = new("measure");
    private static readonly DataField<int> PositionField = new("position");
    private static readonly DataField<float> ValueItem = new("element");
    private static readonly ListField ValuesField = new("values", ValueItem);

    private readonly string path;
    private readonly string temp;
    private readonly FileStream stream;
    private readonly ParquetWriter writer;
    private readonly bool withMeasure;
    private bool committed;
    private int blocksWritten;

    /// <summary>
    /// Fault injection for the crash-safety test: with TTA_FAULT_CRASH_AFTER_BLOCKS=N the process dies abruptly
    /// (no finally blocks, no cleanup) after writing N blocks, as if killed mid-write.
    /// </summary>
    private static readonly int? CrashAfterBlocks =
        int.TryParse(Environment.GetEnvironmentVariable("TTA_FAULT_CRASH_AFTER_BLOCKS"), out var n) ? n : null;

    private VectorStoreWriter(string path, string temp, FileStream stream, ParquetWriter writer, bool withMeasure)
    {
        this.path = path;
        this.temp = temp;
        this.stream = stream;
        this.writer = writer;
        this.withMeasure = withMeasure;
    }

    public static ParquetSchema Schema(bool withMeasure) => withMeasure
        ? new ParquetSchema(PointField, StackField, LayerField, HeadField, MeasureField, PositionField, ValuesField)
        : new ParquetSchema(PointField, StackField, LayerField, HeadField, PositionField, ValuesField);

    public static async Task<VectorStoreWriter> CreateAsync(string path, IReadOnlyDictionary<string, string> metadata, bool withMeasure = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = AtomicFile.TempPathFor(path);
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        try
        {
            // Snappy: float activations barely compress, and Parquet.Net's zstd halves write speed (README, Benchmarks).
            var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
            var writer = await ParquetWriter.CreateAsync(Schema(withMeasure), stream, options);
            writer.CustomMetadata = metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value);
            return new VectorStoreWriter(path, temp, stream, writer, withMeasure);
        }
        catch
        {
            await stream.DisposeAsync();
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes one block (row-major [positions, dim]) as its own row group.</summary>
    public async Task WriteAsync(ActivationPoint key, ReadOnlyMemory<float> values, int positions, int dim)
    {
        if (values.Length != (long)positions * dim) throw new ArgumentException($"{key.Point}: {values.Length} values for {positions}x{dim}");
        if (withMeasure != (key.Measure is not null)) throw new ArgumentException($"{key.Point}: measure column mismatch");
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(PointField, Enumerable.Repeat(key.Point, positions).ToArray());
        await group.WriteAsync(StackField, Enumerable.Repeat(key.Stack, positions).ToArray());
        await group.WriteAsync<int>(LayerField, Enumerable.Repeat(key.Layer, positions).ToArray());
        await group.WriteAsync<int>(HeadField, Enumerable.Repeat(key.Head, positions).ToArray());
        if (withMeasure) await group.WriteAsync(MeasureField, Enumerable.Repeat(key.Measure!, positions).ToArray());
        await group.WriteAsync<int>(PositionField, Enumerable.Range(0, positions).ToArray());
        var repetition = new int[values.Length];
        for (var p = 0; p < positions; p++)
            for (var d = 1; d < dim; d++) repetition[p * dim + d] = 1; // 0 starts a new row's list
        var definition = new int[values.Length];
        Array.Fill(definition, ValueItem.MaxDefinitionLevel); // every list present, every element present
        await group.WriteAllPartsAsync(ValueItem, values, definition, repetition, CancellationToken.None);
        if (++blocksWritten == CrashAfterBlocks)
        {
            await stream.FlushAsync();
            Environment.FailFast($"TTA_FAULT_CRASH_AFTER_BLOCKS: injected crash while writing {path}");
        }
    }

    /// <summary>Finishes the file, flushes it to disk and renames it into place.</summary>
    public async Task CommitAsync()
    {
        await writer.DisposeAsync();
        await stream.FlushAsync();
        stream.Flush(flushToDisk: true);
        await stream.DisposeAsync();
        File.Move(temp, path, overwrite: true);
        committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (committed) return;
        try { await writer.DisposeAsync(); } catch (Exception) { /* abandoning a partial file */ }
        await stream.DisposeAsync();
        File.Delete(temp);
    }
}

/// <summary>Reads a store file written by <see cref="VectorStoreWriter"/>.</summary>
public static class VectorStoreReader
{
    public static async Task<(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<VectorBlock> Blocks)> ReadAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        DataField F(string name) => fields.First(f => f.Path.ToString() == name || f.Name == name && f.Path.ToString().StartsWith(name, StringComparison.Ordinal));
        var valuesField = fields.First(f => f.Path.ToString().StartsWith("values", StringComparison.Ordinal));
        var hasMeasure = fields.Any(f => f.Name == "measure");
        var blocks = new List<VectorBlock>();
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
            blocks.Add(new VectorBlock(new ActivationPoint(point[0]!, stack[0]!, layer[0], head[0], hasMeasure ? measure[0] : null), rows, dim, values));
        }
        return (reader.CustomMetadata ?? new Dictionary<string, string>(), blocks);
    }
}
