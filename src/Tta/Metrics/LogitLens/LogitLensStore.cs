using Parquet;
using Parquet.Schema;
using Tta.Core;
using Tta.Store;

namespace Tta.Metrics.LogitLens;

/// <summary>
/// The Parquet layout of logit_lens.parquet: one row per (hidden state, position, rank), flat columns
/// <c>point, stack, layer, position, rank, token_id, token, probability, next_token_id, next_token, next_rank,
/// next_probability</c>. <c>rank</c> 0 is the most probable token; <c>probability</c> is its softmax over the whole
/// vocabulary (float32). The <c>next_*</c> columns repeat on the k rows of a position: the token that comes next
/// there, its rank among all tokens (0 = top; the number of tokens more probable than it) and its probability, null
/// where none follows (a decoder-only model's last position). <c>token</c> and <c>next_token</c> are the tokenizer's
/// strings for the ids, null where it has none. One row group per hidden state; file metadata <c>tta.*</c> as in the
/// activation store (<c>tta.k</c> the k asked for).
/// </summary>
public static class LogitLensStore
{
    private static readonly DataField<string> PointField = new("point");
    private static readonly DataField<string> StackField = new("stack");
    private static readonly DataField<int> LayerField = new("layer");
    private static readonly DataField<int> PositionField = new("position");
    private static readonly DataField<int> RankField = new("rank");
    private static readonly DataField<long> TokenIdField = new("token_id");
    private static readonly DataField<string> TokenField = new("token", nullable: true);
    private static readonly DataField<float> ProbabilityField = new("probability");
    private static readonly DataField<long?> NextTokenIdField = new("next_token_id");
    private static readonly DataField<string> NextTokenField = new("next_token", nullable: true);
    private static readonly DataField<int?> NextRankField = new("next_rank");
    private static readonly DataField<float?> NextProbabilityField = new("next_probability");

    public static readonly ParquetSchema Schema = new(PointField, StackField, LayerField, PositionField, RankField, TokenIdField,
        TokenField, ProbabilityField, NextTokenIdField, NextTokenField, NextRankField, NextProbabilityField);

    public sealed record Group(ActivationPoint Key, LogitLensResult Result);

    /// <summary>Writes all groups atomically; <paramref name="vocabulary"/> maps ids to strings (null: none).</summary>
    public static async Task WriteAsync(string path, IReadOnlyDictionary<string, string> metadata, IEnumerable<Group> groups,
        IReadOnlyList<string?>? vocabulary)
    {
        string? TokenOf(long? id) => id is { } i && vocabulary is not null && i < vocabulary.Count ? vocabulary[(int)i] : null;
        await AtomicFile.WriteAsync(path, async stream =>
        {
            var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
            await using var writer = await ParquetWriter.CreateAsync(Schema, stream, options);
            writer.CustomMetadata = metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value);
            foreach (var (key, r) in groups)
            {
                var n = r.Positions * r.K;
                T[] PerPosition<T>(T[] values) => [.. Enumerable.Range(0, n).Select(i => values[i / r.K])];
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(PointField, Enumerable.Repeat(key.Point, n).ToArray());
                await group.WriteAsync(StackField, Enumerable.Repeat(key.Stack, n).ToArray());
                await group.WriteAsync<int>(LayerField, Enumerable.Repeat(key.Layer, n).ToArray());
                await group.WriteAsync<int>(PositionField, Enumerable.Range(0, n).Select(i => i / r.K).ToArray());
                await group.WriteAsync<int>(RankField, Enumerable.Range(0, n).Select(i => i % r.K).ToArray());
                await group.WriteAsync<long>(TokenIdField, r.Ids);
                await group.WriteAsync(TokenField, r.Ids.Select(id => TokenOf(id)).ToArray());
                await group.WriteAsync<float>(ProbabilityField, r.Probabilities);
                await group.WriteAsync<long>(NextTokenIdField, PerPosition(r.NextIds));
                await group.WriteAsync(NextTokenField, PerPosition(r.NextIds).Select(TokenOf).ToArray());
                await group.WriteAsync<int>(NextRankField, PerPosition(r.NextRanks));
                await group.WriteAsync<float>(NextProbabilityField, PerPosition(r.NextProbabilities));
            }
        });
    }

    /// <summary>The file's key-value metadata and its rows (any row-group split).</summary>
    public static (IReadOnlyDictionary<string, string> Metadata, List<LogitLensRow> Rows) Read(string path) =>
        MetricsStage.Sync(() => ReadAsync(path));

    public static async Task<(IReadOnlyDictionary<string, string> Metadata, List<LogitLensRow> Rows)> ReadAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var result = new List<LogitLensRow>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var n = (int)group.RowCount;
            if (n == 0) continue;
            var (point, stack, token, nextToken) = (new string?[n], new string?[n], new string?[n], new string?[n]);
            var (layer, position, rank) = (new int[n], new int[n], new int[n]);
            var (id, probability) = (new long[n], new float[n]);
            var (nextId, nextRank, nextProbability) = (new long?[n], new int?[n], new float?[n]);
            await group.ReadAsync(PointField, point.AsMemory());
            await group.ReadAsync(StackField, stack.AsMemory());
            await group.ReadAsync<int>(LayerField, layer.AsMemory());
            await group.ReadAsync<int>(PositionField, position.AsMemory());
            await group.ReadAsync<int>(RankField, rank.AsMemory());
            await group.ReadAsync<long>(TokenIdField, id.AsMemory());
            await group.ReadAsync(TokenField, token.AsMemory());
            await group.ReadAsync<float>(ProbabilityField, probability.AsMemory());
            await group.ReadAsync<long>(NextTokenIdField, nextId.AsMemory());
            await group.ReadAsync(NextTokenField, nextToken.AsMemory());
            await group.ReadAsync<int>(NextRankField, nextRank.AsMemory());
            await group.ReadAsync<float>(NextProbabilityField, nextProbability.AsMemory());
            for (var i = 0; i < n; i++)
                result.Add(new LogitLensRow(point[i]!, stack[i]!, layer[i], position[i], rank[i], id[i], token[i], probability[i],
                    nextId[i], nextToken[i], nextRank[i], nextProbability[i]));
        }
        return (reader.CustomMetadata ?? new Dictionary<string, string>(), result);
    }
}
