using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Models;
using Tta.Store;

namespace Tta.Metrics.Projection;

/// <summary>
/// <c>metrics.projection</c>: every token's trajectory projected to 2-D (<see cref="TrajectoryProjection"/>) into
/// projection.parquet, store layout with a measure column: one block per stored hidden state (point
/// <c>hidden_states.N</c> / <c>encoder_hidden_states.N</c> / …, layer N, measure <c>pca</c>), one row per token whose
/// values are its two coordinates. Metadata <c>tta.projection</c>: JSON object series → <c>{ "stack", "layers",
/// "rows", "explained_variance_ratio": [pc1, pc2] }</c>. The fit is over all layers of the series together (rows =
/// layers × tokens), so positions in the plane compare across layers.
/// </summary>
public sealed class TrajectoryProjectionUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, Kind)
{
    public const string Kind = "projection";
    public const string Format = "projection/1";
    public const string CodeVersion = "projection-1";

    public override UnitDeclaration Declare() => SwitchOnActivations(CodeVersion);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        return WriteOutput(async fingerprint =>
        {
            var fits = (await TrajectoryProjection.FitAsync(Upstream.OutputPath)).ToDictionary(f => f.Series, StringComparer.Ordinal);
            var layers = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
            await using var store = await VectorStoreReader.OpenAsync(Upstream.OutputPath);
            var (metadata, points) = (store.Metadata, store.Points);
            var meta = MetricsStage.Metadata(metadata, Format, fingerprint);
            var written = new List<CapturePoint>();
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
            await store.ForEachBlockAsync(async block =>
            {
                if (points.HiddenStateSeries(block.Key) is not { } series) return;
                written.Add(points[block.Key]);
                var fit = fits[series];
                (layers.TryGetValue(series, out var list) ? list : layers[series] = []).Add(block.Key.Layer);
                await writer.WriteAsync(block.Key with { Measure = TrajectoryProjection.Measure }, fit.Project(block.Values, block.Positions), block.Positions, 2);
            });
            // The writer writes its metadata at commit, so the points and layers seen can still go in.
            writer.SetMetadata(StoreKeys.Points, StoredPoints.Serialize(written));
            writer.SetMetadata(StoreKeys.Projection, JsonSerializer.Serialize(fits.Values.OrderBy(f => f.Series, StringComparer.Ordinal).ToDictionary(
                f => f.Series,
                f => new ProjectionInfo(f.Stack, [.. layers.GetValueOrDefault(f.Series) ?? []], f.Rows, f.ExplainedVarianceRatio))));
            await writer.CommitAsync();
        });
    }

    /// <summary>One series' entry in the <c>tta.projection</c> metadata.</summary>
    public sealed record ProjectionInfo(
        [property: System.Text.Json.Serialization.JsonPropertyName("stack")] string Stack,
        [property: System.Text.Json.Serialization.JsonPropertyName("layers")] int[] Layers,
        [property: System.Text.Json.Serialization.JsonPropertyName("rows")] int Rows,
        [property: System.Text.Json.Serialization.JsonPropertyName("explained_variance_ratio")] double[] ExplainedVarianceRatio);
}
