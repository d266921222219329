using Parquet;
using Parquet.Schema;

namespace Tta.Store;

/// <summary>An open store file (<see cref="VectorStoreReader.OpenAsync"/>): its metadata, read with the footer, and its blocks.</summary>
public sealed class VectorStoreFile : IAsyncDisposable, IDisposable
{
    private readonly string path;
    private readonly Stream stream;
    private readonly ParquetReader reader;

    internal VectorStoreFile(string path, Stream stream, ParquetReader reader)
    {
        this.path = path;
        this.stream = stream;
        this.reader = reader;
        Metadata = reader.CustomMetadata ?? new Dictionary<string, string>();
    }

    /// <summary>The file's key-value metadata (tokens, model, fingerprint, points, …).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>What each point of the file is (<see cref="StoreKeys.Points"/>).</summary>
    public StoredPoints Points => StoredPoints.Read(Metadata, path);

    /// <summary>Hands the blocks to <paramref name="visit"/> one row group at a time, so memory holds one block, not the file.</summary>
    public async Task ForEachBlockAsync(Func<VectorBlock, Task> visit)
    {
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
    }

    public void Dispose() => Task.Run(() => DisposeAsync().AsTask()).GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await reader.DisposeAsync();
        await stream.DisposeAsync();
    }
}
