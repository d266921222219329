using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Tta.Config;
using Tta.Extract;

namespace Tta.Metrics.Nearest;

/// <summary>Reads nearest.parquet back (any row-group split).</summary>
public static class NearestRows
{
    /// <summary>The file's key-value metadata and its rows.</summary>
    public static (IReadOnlyDictionary<string, string> Metadata, List<NearestRow> Rows) Read(string path) =>
        Task.Run(() => ReadAsync(path)).GetAwaiter().GetResult();

    public static async Task<(IReadOnlyDictionary<string, string> Metadata, List<NearestRow> Rows)> ReadAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        DataField F(string name) => fields.FirstOrDefault(f => f.Name == name)
            ?? throw new InvalidDataException($"{path}: no column '{name}'; not a nearest-token file");
        var result = new List<NearestRow>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var n = (int)group.RowCount;
            if (n == 0) continue;
            var point = new string?[n];
            var stack = new string?[n];
            var layer = new int[n];
            var measure = new string?[n];
            var position = new int[n];
            var rank = new int[n];
            var id = new long[n];
            var token = new string?[n];
            var score = new double[n];
            await group.ReadAsync(F("point"), point.AsMemory());
            await group.ReadAsync(F("stack"), stack.AsMemory());
            await group.ReadAsync<int>(F("layer"), layer.AsMemory());
            await group.ReadAsync(F("measure"), measure.AsMemory());
            await group.ReadAsync<int>(F("position"), position.AsMemory());
            await group.ReadAsync<int>(F("rank"), rank.AsMemory());
            await group.ReadAsync<long>(F("token_id"), id.AsMemory());
            await group.ReadAsync(F("token"), token.AsMemory());
            await group.ReadAsync<double>(F("score"), score.AsMemory());
            for (var i = 0; i < n; i++)
                result.Add(new NearestRow(point[i]!, stack[i]!, layer[i], measure[i]!, position[i], rank[i], id[i], token[i], score[i]));
        }
        return (reader.CustomMetadata ?? new Dictionary<string, string>(), result);
    }
}
