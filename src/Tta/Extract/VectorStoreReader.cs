using Parquet;
using Parquet.Schema;
using Tta.Cache;

namespace Tta.Extract;

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
