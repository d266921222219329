using Parquet;
using Parquet.Schema;
using Tta.Core;
using Tta.Store;
using static TorchSharp.torch;

namespace Tta.Metrics.Nearest;

/// <summary>
/// The Parquet layout of nearest-token results (nearest.parquet): one row per (vector, measure, rank), flat columns
/// <c>point, stack, layer, measure, position, rank, token_id, token, score</c>. <c>measure</c> is <c>ip</c> (score =
/// inner product, largest first) or <c>l2</c> (score = squared L2 distance, smallest first); <c>rank</c> 0 is the
/// best; <c>token</c> is the tokenizer's own string for the id (<see cref="Tokenizers.ITextTokenizer.Vocabulary"/>), null
/// where no token has the id (an embedding row past the tokenizer's vocabulary) or no tokenizer could be read.
/// One row group per (point, measure); file metadata <c>tta.*</c> as in the activation store.
/// </summary>
public static class NearestStore
{
    private static readonly DataField<string> PointField = new("point");
    private static readonly DataField<string> StackField = new("stack");
    private static readonly DataField<int> LayerField = new("layer");
    private static readonly DataField<string> MeasureField = new("measure");
    private static readonly DataField<int> PositionField = new("position");
    private static readonly DataField<int> RankField = new("rank");
    private static readonly DataField<long> TokenIdField = new("token_id");
    private static readonly DataField<string> TokenField = new("token", nullable: true);
    private static readonly DataField<double> ScoreField = new("score");

    public static readonly ParquetSchema Schema = new(PointField, StackField, LayerField, MeasureField, PositionField,
        RankField, TokenIdField, TokenField, ScoreField);

    public sealed record Group(ActivationPoint Key, NearestResult Result);

    /// <summary>Writes all groups atomically; <paramref name="vocabulary"/> maps ids to strings (null: none).</summary>
    public static async Task WriteAsync(string path, IReadOnlyDictionary<string, string> metadata, IEnumerable<Group> groups,
        IReadOnlyList<string?>? vocabulary)
    {
        await AtomicFile.WriteAsync(path, async stream =>
        {
            // Snappy, as every Parquet file tta writes (VectorStoreWriter), so readers without ZSTD open them all.
            var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
            await using var writer = await ParquetWriter.CreateAsync(Schema, stream, options);
            writer.CustomMetadata = metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value);
            foreach (var (key, r) in groups)
            {
                var n = r.Rows * r.K;
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(PointField, Enumerable.Repeat(key.Point, n).ToArray());
                await group.WriteAsync(StackField, Enumerable.Repeat(key.Stack, n).ToArray());
                await group.WriteAsync<int>(LayerField, Enumerable.Repeat(key.Layer, n).ToArray());
                await group.WriteAsync(MeasureField, Enumerable.Repeat(key.Measure!, n).ToArray());
                await group.WriteAsync<int>(PositionField, Enumerable.Range(0, n).Select(i => i / r.K).ToArray());
                await group.WriteAsync<int>(RankField, Enumerable.Range(0, n).Select(i => i % r.K).ToArray());
                await group.WriteAsync<long>(TokenIdField, r.Ids);
                await group.WriteAsync(TokenField, r.Ids.Select(id => vocabulary is not null && id < vocabulary.Count ? vocabulary[(int)id] : null).ToArray());
                await group.WriteAsync<double>(ScoreField, r.Scores);
            }
        });
    }
}
